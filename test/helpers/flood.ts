/**
 * A half-open connection flood from one address, run as its own process so that its event
 * loop and descriptors are not the server's (as an attacker's are not):
 *   node --import tsx test/helpers/flood.ts <port> <localAddress> <count> <reopenPerSecond>
 * It opens <count> TCP connections to 127.0.0.1:<port> (at most OPENING_AT_ONCE still
 * connecting, so the kernel's queues see a steady stream rather than a SYN flood), prints
 * "ready" once <count> have connected, and from then on re-opens every connection the
 * server closes, at most <reopenPerSecond>. Half send 3 bytes of a TLS record header, half
 * nothing. It exits when its stdin closes (the test ended, however it ended).
 */
import { connect, type Socket } from 'node:net';

const OPENING_AT_ONCE = 500;

const [port, localAddress, count, reopenPerSecond] = process.argv.slice(2);
const total = Number(count);
const sockets: Array<Socket | undefined> = [];
const waiting: number[] = [];
let connecting = 0;
let connected = 0;
let ready = false;

function open(i: number): void {
  connecting += 1;
  const socket = connect({ host: '127.0.0.1', port: Number(port), localAddress });
  sockets[i] = socket;
  let settled = false;
  const settle = () => {
    if (!settled) connecting -= 1;
    settled = true;
  };
  socket.on('error', () => {});
  socket.on('connect', () => {
    settle();
    connected += 1;
    if (i % 2 === 0) socket.write(Buffer.from([0x16, 0x03, 0x01]));
    if (!ready && connected >= total) {
      ready = true;
      process.stdout.write('ready\n');
    }
  });
  socket.on('close', () => {
    settle();
    waiting.push(i);
  });
}

let next = 0;
const TICK_MS = 10;
setInterval(() => {
  // First every connection once, then re-opens at the given rate.
  let budget = ready ? Math.max(1, (Number(reopenPerSecond) * TICK_MS) / 1000) : OPENING_AT_ONCE - connecting;
  while (budget-- > 0 && next < total) open(next++);
  while (budget-- > 0 && waiting.length > 0) open(waiting.shift() as number);
}, TICK_MS);

process.stdin.resume();
process.stdin.on('end', () => {
  for (const s of sockets) s?.destroy();
  process.exit(0);
});
