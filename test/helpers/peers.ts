/** Logged-in clients with started peer managers, on a real test server (all on 127.0.0.1). */
import { randomBytes } from 'node:crypto';
import { createServer as createTlsServer, connect as tlsConnect, type TLSSocket } from 'node:tls';
import type { P2PClient } from '../../src/client/client.ts';
import { dialPeer } from '../../src/client/peer/dial.ts';
import type { PeerLink, PeerLinkTimers } from '../../src/client/peer/link.ts';
import { PeerListener, type PeerGrant, type PeerListenerOptions } from '../../src/client/peer/listener.ts';
import { PeerManager, type PeerManagerOptions } from '../../src/client/peer/manager.ts';
import { FramedConnection } from '../../src/net/connection.ts';
import { peerMessages, type PeerMessage } from '../../src/net/messages.ts';
import { PROTOCOL_VERSION } from '../../src/net/constants.ts';
import { derivePeerKey, peerClientOptions, peerServerOptions } from '../../src/net/peer-tls.ts';
import type { ServerAppOptions } from '../../src/server/app.ts';
import { startTestServer, type TestServer } from './server.ts';
import { nextEvent } from './wait.ts';
import { closedPort } from '../../bench/lib/closed-port.ts';

export { closedPort };

export interface PeerClient {
  user: string;
  client: P2PClient;
  peers: PeerManager;
}

export interface PeerBed {
  server: TestServer;
  /**
   * Register `user` with a started peer manager (listener on 127.0.0.1, port 0).
   * `reachable: false` advertises a port where nothing listens: dials to it are refused, as by
   * a NAT router without a forwarded port (PROTOCOL.md section 6.6).
   */
  join(user: string, options?: PeerManagerOptions, reachable?: boolean): Promise<PeerClient>;
  close(): Promise<void>;
}

export async function startPeerBed(serverOptions: Partial<ServerAppOptions> = {}): Promise<PeerBed> {
  const server = await startTestServer(serverOptions);
  const members: PeerClient[] = [];
  return {
    server,
    async join(user, options = {}, reachable = true) {
      const client = await server.client();
      const peers = new PeerManager(client, { host: '127.0.0.1', ...options });
      await peers.start();
      if (!reachable) client.peerPort = await closedPort();
      await client.register(user, `password-${user}`);
      const member = { user, client, peers };
      members.push(member);
      return member;
    },
    async close() {
      await Promise.all(members.map((m) => m.peers.close().catch(() => {})));
      await server.close();
    },
  };
}

/** Accept every prompt this client gets. */
export function autoAccept(member: PeerClient): void {
  member.peers.on('prompt', (prompt) => void member.peers.accept(prompt.reqId).catch(() => {}));
}

/** `a` asks `b` (who accepts) and both ends of the open session come back. */
export async function connectPair(a: PeerClient, b: PeerClient): Promise<{ ab: PeerLink; ba: PeerLink }> {
  const incoming = new Promise<PeerLink>((resolve, reject) => {
    b.peers.once('prompt', (prompt) => void b.peers.accept(prompt.reqId).then(resolve, reject));
  });
  const result = await a.peers.requestPeer({ user: b.user });
  if (result.outcome !== 'accepted') throw new Error(`expected accepted, got ${result.outcome}`);
  return { ab: result.link, ba: await incoming };
}

/** A listener and a dialed link to it, no server involved (the grant is made up here). */
export async function linkPair(
  options: { timers?: PeerLinkTimers; listener?: Omit<PeerListenerOptions, 'link'> } = {},
): Promise<{ listener: PeerListener; dialer: PeerLink; accepted: PeerLink; grant: PeerGrant; close(): Promise<void> }> {
  const listener = await PeerListener.start({ host: '127.0.0.1', ...options.listener, link: options.timers });
  const grant = makeGrant('alice', 'bob');
  listener.expect(grant);
  const accepted = nextEvent<[PeerLink]>(listener, 'link');
  const dialer = await dialPeer({
    ...options.timers,
    host: '127.0.0.1',
    port: listener.port,
    reqId: grant.reqId,
    secret: grant.secret,
    selfUser: 'bob',
    peerUser: 'alice',
  });
  const [link] = await accepted;
  return {
    listener,
    dialer,
    accepted: link,
    grant,
    close() {
      dialer.close();
      link.close();
      listener.close();
      return Promise.resolve();
    },
  };
}

/** A fresh grant as the server would make it: the listener is `self`, the dialer `peer`. */
export function makeGrant(self: string, peer: string): PeerGrant {
  return {
    reqId: randomBytes(16).toString('hex'),
    secret: randomBytes(32),
    selfUser: self,
    peerUser: peer,
    peerIp: '127.0.0.1',
  };
}

/**
 * A hand-driven peer: a real TLS-PSK socket with the right key that speaks frames directly,
 * so tests can send what PeerLink never would (oversized text, ids out of order).
 */
export async function rawPeer(
  port: number,
  grant: PeerGrant,
): Promise<{
  socket: TLSSocket;
  conn: FramedConnection<typeof peerMessages, PeerMessage>;
  inbox: PeerMessage[];
  closed: Promise<void>;
}> {
  const socket = tlsConnect(
    peerClientOptions('127.0.0.1', port, grant.reqId, derivePeerKey(grant.secret, grant.reqId)),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  const conn = new FramedConnection<typeof peerMessages, PeerMessage>(socket, peerMessages);
  const inbox: PeerMessage[] = [];
  conn.on('message', (m) => inbox.push(m));
  const closed = new Promise<void>((resolve) => conn.on('close', () => resolve()));
  return { socket, conn, inbox, closed };
}

/** A real listener and a hand-driven dialer that has said hello: the listener's link and the raw end. */
export async function rawSession(dialerName = 'mallory') {
  const listener = await PeerListener.start({ host: '127.0.0.1' });
  const grant = makeGrant('alice', dialerName);
  listener.expect(grant);
  const accepted = nextEvent<[PeerLink]>(listener, 'link');
  const raw = await rawPeer(listener.port, grant);
  raw.conn.send({ t: 'hello', proto: PROTOCOL_VERSION, user: dialerName });
  const [link] = await accepted;
  return {
    listener,
    raw,
    link,
    close() {
      raw.socket.destroy();
      listener.close();
    },
  };
}

type RawEnd = { socket: TLSSocket; conn: FramedConnection<typeof peerMessages, PeerMessage>; inbox: PeerMessage[] };

/** A hand-driven acceptor for one grant: it says hello as grant.selfUser, then does only what the test says. */
export async function rawListener(
  grant: PeerGrant,
): Promise<{ port: number; accepted: Promise<RawEnd>; close(): Promise<void> }> {
  const key = derivePeerKey(grant.secret, grant.reqId);
  const sockets: TLSSocket[] = [];
  let accept: (end: RawEnd) => void = () => {};
  const accepted = new Promise<RawEnd>((resolve) => (accept = resolve));
  const server = createTlsServer(
    peerServerOptions((_socket, identity) => (identity === grant.reqId ? key : null), 5_000),
  );
  server.on('secureConnection', (socket: TLSSocket) => {
    sockets.push(socket);
    const conn = new FramedConnection<typeof peerMessages, PeerMessage>(socket, peerMessages);
    const inbox: PeerMessage[] = [];
    conn.on('message', (m) => inbox.push(m));
    conn.send({ t: 'hello', proto: PROTOCOL_VERSION, user: grant.selfUser });
    accept({ socket, conn, inbox });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    accepted,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
