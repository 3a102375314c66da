/**
 * Opens the TLS (TCP) listener and the UDP socket and wires them to a ServerCore. The only
 * place that binds ports; main.ts and the tests both go through it.
 */
import type { Socket as UdpSocket } from 'node:dgram';
import type { Socket } from 'node:net';
import { createServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import {
  Admission,
  MAX_UNAUTHENTICATED_CONNECTIONS,
  MAX_UNAUTHENTICATED_PER_IP,
  PRESSURE_LOGIN_DEADLINE_MS,
  type Ticket,
} from './admission.ts';
import { createUdpSocket } from '../net/udp-socket.ts';
import type { ServerCore } from './server.ts';

export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

const CLOSE_GRACE_MS = 3_000;
/**
 * Connections not logged in yet (TLS handshake in progress, or waiting for login), at most
 * (and never more than --max-connections). admission.ts shares them fairly among addresses.
 */
export const MAX_PENDING_HANDSHAKES = MAX_UNAUTHENTICATED_CONNECTIONS;
/**
 * Connections the kernel queues before we accept them. Node's default (511) overflows under
 * a connection flood, and the kernel then drops new SYNs, a real user's included, who retries
 * only after 1 s, 3 s... Linux caps it at net.core.somaxconn (4096 on current kernels).
 */
export const LISTEN_BACKLOG = 4096;
/**
 * Kernel buffers of the UDP socket. A broadcast to 10,000 users brings 10,000 acks back
 * within a few hundred ms (PROTOCOL.md section 7.2), and each small datagram takes about
 * 1 KiB of socket buffer: the default ~200 KiB holds a few hundred, and the rest would be
 * dropped and cost retransmissions. Linux caps the value at net.core.rmem_max / wmem_max
 * (often 4 MiB or less), so asking for more is harmless; docs/OPERATIONS.md says how to raise
 * them (at 10,000 recipients: no drops, 25 % less CPU, docs/BENCHMARKS.md).
 */
export const UDP_SOCKET_BUFFER_BYTES = 16 * 1024 * 1024;

export interface ListenOptions {
  host: string;
  /** TCP port; 0 lets the OS choose. */
  port: number;
  /** UDP port; defaults to the TCP port actually bound (4400/tcp and 4400/udp). */
  udpPort?: number;
  key: string;
  cert: string;
  /** For tests; default TLS_HANDSHAKE_TIMEOUT_MS. */
  handshakeTimeoutMs?: number;
  /** Connections not logged in yet; default min(MAX_PENDING_HANDSHAKES, the core's maxConnections). */
  maxPendingHandshakes?: number;
  /** Of those, from one address (IPv4, or IPv6 /64); default MAX_UNAUTHENTICATED_PER_IP. */
  maxPendingPerIp?: number;
}

export interface Listening {
  host: string;
  tcpPort: number;
  udpPort: number;
  /** What the kernel granted of UDP_SOCKET_BUFFER_BYTES (Linux reports twice what it allows). */
  udpReceiveBufferBytes: number;
  /** Stop accepting, wait (briefly) for open connections to finish. */
  close(): Promise<void>;
}

export async function listen(core: ServerCore, options: ListenOptions): Promise<Listening> {
  const sockets = new Set<TLSSocket>();
  const maxPending = options.maxPendingHandshakes ?? Math.min(MAX_PENDING_HANDSHAKES, core.options.maxConnections);
  const admission = new Admission(
    {
      total: maxPending,
      perIp: options.maxPendingPerIp ?? MAX_UNAUTHENTICATED_PER_IP,
      pressureDeadlineMs: PRESSURE_LOGIN_DEADLINE_MS,
    },
    Date.now,
    (ip, reason) => core.emit('handshake_failed', { ip, reason: `closed before login: ${reason}` }),
  );
  /** Each connection's admission ticket, by remote address and port (the same on the TCP and the TLS socket). */
  const tickets = new Map<string, Ticket>();
  /** Raw TCP connections still in their TLS handshake (the core knows the others). */
  const handshaking = new Map<string, Socket>();
  const endpoint = (s: { remoteAddress?: string; remotePort?: number }) => `${s.remoteAddress}|${s.remotePort}`;
  // Logged in, or carrying a relay circuit half: no longer a connection "before login".
  const loggedIn = (session: { conn: { stream: object } }) => tickets.get(endpoint(session.conn.stream))?.release();
  core.hooks.on('online', loggedIn);
  core.hooks.on('relayed', loggedIn);
  const tls = createServer(
    {
      key: options.key,
      cert: options.cert,
      minVersion: 'TLSv1.2',
      handshakeTimeout: options.handshakeTimeoutMs ?? TLS_HANDSHAKE_TIMEOUT_MS,
    },
    (socket) => {
      handshaking.delete(endpoint(socket));
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      core.handle(socket, socket.remoteAddress);
    },
  );
  tls.on('connection', (raw: Socket) => {
    // Closed at once when refused: no TLS state is ever allocated for it.
    const ticket = admission.admit(raw.remoteAddress ?? '', () => raw.destroy());
    if (!ticket) {
      raw.destroy();
      return;
    }
    const key = endpoint(raw);
    tickets.set(key, ticket);
    handshaking.set(key, raw);
    raw.once('close', () => {
      ticket.release();
      if (tickets.get(key) === ticket) tickets.delete(key);
      if (handshaking.get(key) === raw) handshaking.delete(key);
    });
  });
  tls.on('tlsClientError', (err, socket) => {
    core.emit('handshake_failed', { ip: socket.remoteAddress ?? '?', reason: err.message });
    // Node reports a handshake timeout here but leaves the socket open: a silent TCP
    // connection would otherwise hold a descriptor forever.
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    tls.once('error', reject);
    tls.listen({ port: options.port, host: options.host, backlog: LISTEN_BACKLOG }, () => {
      tls.off('error', reject);
      resolve();
    });
  });
  tls.on('error', (err: Error) => core.emit('server_error', { where: 'tcp listener', message: err.message }));
  const tcpPort = (tls.address() as { port: number }).port;

  let udp: UdpSocket;
  try {
    udp = await bindUdp(options.host, options.udpPort ?? tcpPort);
  } catch (err) {
    // With an OS-chosen TCP port, its number may be taken on UDP: take any free UDP port.
    if (options.port !== 0 || options.udpPort !== undefined) {
      tls.close();
      throw err;
    }
    udp = await bindUdp(options.host, 0);
  }
  const udpPort = udp.address().port;
  udp.on('message', (datagram, rinfo) => core.handleDatagram(datagram, rinfo.address, rinfo.port));
  udp.on('error', (err) => core.emit('server_error', { where: 'udp socket', message: err.message }));
  core.attachUdp((datagram, port, address) => udp.send(datagram, port, address), udpPort);

  return {
    host: options.host,
    tcpPort,
    udpPort,
    udpReceiveBufferBytes: receiveBufferBytes(udp),
    close: () => {
      // Connections that never became sessions have nobody to tell: they go at once, so
      // shutdown does not wait out their handshake timeout. Sessions were told by the core.
      for (const raw of handshaking.values()) raw.destroy();
      handshaking.clear();
      admission.stop();
      core.hooks.off('online', loggedIn);
      core.hooks.off('relayed', loggedIn);
      return closeAll(tls, udp, sockets);
    },
  };
}

function receiveBufferBytes(socket: UdpSocket): number {
  try {
    return socket.getRecvBufferSize();
  } catch {
    return 0; // not reported on this system
  }
}

function bindUdp(host: string, port: number): Promise<UdpSocket> {
  const socket = createUdpSocket(host.includes(':') ? 'udp6' : 'udp4');
  return new Promise((resolve, reject) => {
    socket.once('error', (err) => {
      socket.close();
      reject(err);
    });
    socket.bind(port, host, () => {
      socket.removeAllListeners('error');
      try {
        socket.setRecvBufferSize(UDP_SOCKET_BUFFER_BYTES);
        socket.setSendBufferSize(UDP_SOCKET_BUFFER_BYTES);
      } catch {
        // Some systems refuse; the defaults still work, with more retransmissions under load.
      }
      resolve(socket);
    });
  });
}

async function closeAll(tls: TlsServer, udp: UdpSocket, sockets: Set<TLSSocket>): Promise<void> {
  const closed = new Promise<void>((resolve) => tls.close(() => resolve()));
  const timer = setTimeout(() => {
    for (const socket of sockets) socket.destroy();
  }, CLOSE_GRACE_MS);
  await closed;
  clearTimeout(timer);
  await new Promise<void>((resolve) => {
    try {
      udp.close(() => resolve());
    } catch {
      resolve();
    }
  });
}
