/**
 * A login-churn load generator: each worker connects over TLS, logs in with the raw
 * protocol (hello -> login -> welcome), closes, and starts again, so the server sees a
 * steady stream of connections, logins, logouts and disconnects: every event the
 * dashboard draws. Beside it, one logged-in sender can broadcast at a steady rate.
 */
import { connect, type TLSSocket } from 'node:tls';
import { encodeMessage } from '../../src/net/codec.ts';
import { PROTOCOL_VERSION } from '../../src/net/constants.ts';
import { FrameDecoder } from '../../src/net/framing.ts';
import { serveCalls } from './ipc.ts';

/** One login: resolves with its latency (connect to welcome) once the connection has closed. */
function loginOnce(port: number, user: string, pass: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect({ host: '127.0.0.1', port, rejectUnauthorized: false });
    const decoder = new FrameDecoder();
    let latency: number | null = null;
    socket.on('error', (err: Error) => {
      if (latency === null) reject(err);
    });
    socket.on('close', () => (latency === null ? reject(new Error('closed before welcome')) : resolve(latency)));
    socket.on('data', (chunk: Buffer) => {
      if (latency !== null) return; // presence batches after welcome: not ours to read
      decoder.push(chunk, (payload) => {
        const message = JSON.parse(payload.toString('utf8')) as { t: string; code?: string };
        if (message.t === 'hello') {
          socket.write(encodeMessage({ t: 'login', id: 1, proto: PROTOCOL_VERSION, user, pass }));
        } else if (message.t === 'welcome') {
          latency = performance.now() - started;
          socket.end();
        } else if (message.t === 'error') {
          socket.destroy();
          reject(new Error(message.code));
        }
      });
    });
  });
}

/**
 * `count` logins by `parallel` workers; login i is users[i % users.length], so with more users
 * than workers no two logins in flight share a name (which would replace a session).
 */
async function churn(args: { port: number; users: string[]; pass: string; count: number; parallel: number }) {
  const times: number[] = [];
  const errors: string[] = [];
  let next = 0;
  const worker = async () => {
    while (next < args.count) {
      const user = args.users[next++ % args.users.length];
      if (user === undefined) throw new Error('churn: no users to log in as');
      try {
        times.push(await loginOnce(args.port, user, args.pass));
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: args.parallel }, worker));
  return { times, errors: errors.slice(0, 5), errorCount: errors.length };
}

interface Sender {
  socket: TLSSocket;
  timer: NodeJS.Timeout;
  sent: number;
  accepted: number;
  refused: number;
}
let sender: Sender | null = null;

/** Log in as `user` and send a broadcast every 1/perSecond s until broadcastStop. */
function broadcastStart(args: { port: number; user: string; pass: string; perSecond: number }): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: args.port, rejectUnauthorized: false });
    const decoder = new FrameDecoder();
    let online = false;
    socket.on('error', (err: Error) => {
      if (!online) reject(err);
    });
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk, (payload) => {
        const message = JSON.parse(payload.toString('utf8')) as { t: string; re?: number };
        if (message.t === 'hello') {
          socket.write(encodeMessage({ t: 'login', id: 1, proto: PROTOCOL_VERSION, user: args.user, pass: args.pass }));
        } else if (message.t === 'welcome') {
          online = true;
          const state: Sender = {
            socket,
            sent: 0,
            accepted: 0,
            refused: 0,
            timer: setInterval(() => send(state), 1000 / args.perSecond),
          };
          sender = state;
          resolve(true);
        } else if (message.t === 'broadcast_ok' && sender) sender.accepted += 1;
        else if (message.t === 'error' && sender && message.re !== undefined) sender.refused += 1;
      });
    });
  });
}

function send(state: Sender): void {
  state.sent += 1;
  const text = `bench broadcast ${state.sent}: the quick brown fox jumps over the lazy dog`;
  state.socket.write(encodeMessage({ t: 'broadcast', id: 1 + state.sent, text }));
}

function broadcastStop(): { sent: number; accepted: number; refused: number } {
  if (!sender) return { sent: 0, accepted: 0, refused: 0 };
  const { sent, accepted, refused } = sender;
  clearInterval(sender.timer);
  sender.socket.end();
  sender = null;
  return { sent, accepted, refused };
}

serveCalls({ churn, broadcastStart, broadcastStop });
process.on('SIGTERM', () => process.exit(0));
