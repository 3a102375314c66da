/**
 * A TCP port on 127.0.0.1 where nothing listens (bound, then closed): a client that advertises
 * it is "behind NAT" for the connection ladder (PROTOCOL.md section 6.6), its dials refused.
 * Shared by the relay bench and the loopback ladder tests.
 */
import { createServer } from 'node:net';

export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
