/**
 * A load generator process: opens many TLS connections to a server and, for the real
 * server, logs each in with the raw protocol (hello -> login -> welcome), then holds them
 * idle with keepalive pings. Frames after `welcome` (presence batches) are drained unparsed.
 */
import { connect, type TLSSocket } from 'node:tls';
import { encodeMessage } from '../../src/net/codec.ts';
import { FrameDecoder } from '../../src/net/framing.ts';
import { serveCalls } from './ipc.ts';

const KEEPALIVE_MS = 10_000;
const sockets: TLSSocket[] = [];
/** Logged-in connections: they need keepalive pings; bare TLS ones do not. */
const sessions: TLSSocket[] = [];
let pingTimer: NodeJS.Timeout | null = null;

/** Bare connections: bytes each writes once connected (0: an idle socket). */
let exchangeBytes = 0;

function open(port: number, login: { user: string; pass: string } | null): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    const decoder = new FrameDecoder();
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      if (err) {
        socket.destroy();
        reject(err);
      } else {
        sockets.push(socket);
        if (login) sessions.push(socket);
        resolve(performance.now() - started);
      }
    };
    socket.on('error', (err: Error) => finish(err));
    socket.on('close', () => finish(new Error('closed before login')));
    if (!login) {
      socket.once('secureConnect', () => {
        if (exchangeBytes) socket.write(Buffer.alloc(exchangeBytes));
        finish();
      });
      socket.on('data', () => {});
      return;
    }
    socket.on('data', (chunk: Buffer) => {
      if (done) return; // holding: drain presence batches without parsing
      decoder.push(chunk, (payload) => {
        const message = JSON.parse(payload.toString('utf8')) as { t: string; code?: string };
        if (message.t === 'hello') {
          socket.write(encodeMessage({ t: 'login', id: 1, proto: 1, user: login.user, pass: login.pass }));
        } else if (message.t === 'welcome') finish();
        else if (message.t === 'error') finish(new Error(message.code));
      });
    });
  });
}

/** Open `count` connections, at most `parallel` handshakes at a time; resolves with per-login times. */
async function openMany(args: {
  port: number;
  first: number;
  count: number;
  parallel: number;
  prefix: string;
  pass: string | null;
  exchangeBytes?: number;
}) {
  exchangeBytes = args.exchangeBytes ?? 0;
  const times: number[] = [];
  const errors: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < args.count) {
      const i = args.first + next++;
      try {
        times.push(await open(args.port, args.pass === null ? null : { user: `${args.prefix}${i}`, pass: args.pass }));
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
  };
  // Keepalive from the start: a slow ramp must not let the first sessions hit the idle timeout.
  pingTimer ??= setInterval(() => {
    for (const s of sessions) if (!s.destroyed) s.write(encodeMessage({ t: 'ping', id: 2 }));
  }, KEEPALIVE_MS);
  await Promise.all(Array.from({ length: args.parallel }, worker));
  return { times, errors: errors.slice(0, 5), errorCount: errors.length };
}

serveCalls({
  openMany,
  alive: () => sockets.filter((s) => !s.destroyed).length,
  closeAll() {
    if (pingTimer) clearInterval(pingTimer);
    pingTimer = null;
    sessions.length = 0;
    for (const s of sockets.splice(0)) s.destroy();
    return true;
  },
});
process.on('SIGTERM', () => process.exit(0));
