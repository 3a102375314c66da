/**
 * Issue 5 benchmark: how long a keypress takes to reach the screen with 10,000 messages in
 * the current tab (beside an empty tab, measured in the same run), and the client's memory
 * with 20 open tabs. The app runs in-process over in-memory streams, logged in to a real
 * server on loopback; "on screen" means blessed has written the frame to its output stream.
 * Run: npm run bench -- tui   (flags: --keys N --lines N --tabs N)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { EventEmitter } from 'eventemitter3';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { P2PClient } from '../src/client/client.ts';
import { MainScreen } from '../src/client/tui/main-screen.ts';
import { createScreen } from '../src/client/tui/screen.ts';
import type { ChatSessionEvents, ChatSessionView } from '../src/client/tui/sources.ts';
import { LineKind, MAX_TAB_LINES, type Tab } from '../src/client/tui/tabs.ts';
import { startServer } from '../src/server/app.ts';
import { fmt, percentile, printTable } from './lib/table.ts';

const args = await yargs(hideBin(process.argv))
  .option('keys', { type: 'number', default: 300, describe: 'keypresses timed per case' })
  .option('lines', { type: 'number', default: 10_000, describe: 'messages in the loaded tab' })
  .option('tabs', { type: 'number', default: 20, describe: 'open chat tabs for the memory figure' })
  .option('cols', { type: 'number', default: 120 })
  .option('rows', { type: 'number', default: 40 })
  .strict()
  .parseAsync();

/** A key that changes nothing draws nothing; fail loudly rather than wait forever. */
const NO_FRAME_MS = 5_000;
const MESSAGE = 'a fairly ordinary chat message of about sixty characters, ok';

/**
 * Stands in for one open peer session so that tabs can be opened without peers: it holds
 * no socket, so the memory figure is the TUI's share (tabs, scrollback, widgets). The peer
 * link's own cost is measured by the peer-session bench.
 */
class IdleSession extends EventEmitter<ChatSessionEvents> implements ChatSessionView {
  readonly verificationCode = '1234-5678';
  readonly isOpen = true;
  constructor(readonly id: string, readonly peer: { user: string; ip: string }) {
    super();
  }
  history() {
    return [];
  }
  send() {}
  close() {}
}

function memory() {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { heapMiB: m.heapUsed / 2 ** 20, rssMiB: m.rss / 2 ** 20 };
}

const dataDir = await mkdtemp(join(tmpdir(), 'p2p-bench-tui-'));
const configDir = await mkdtemp(join(tmpdir(), 'p2p-bench-tui-cfg-'));
const server = await startServer({ host: '127.0.0.1', port: 0, dataDir, scryptLogN: 10 });
const client = new P2PClient({ host: '127.0.0.1', port: server.listening.tcpPort, configDir });
await client.register('bench', 'bench password');

const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => {} });
let onWrite: (() => void) | null = null;
let written = 0;
const output = Object.assign(
  new Writable({
    write(chunk: Buffer, _enc, cb) {
      written += chunk.length;
      onWrite?.();
      cb();
    },
  }),
  { isTTY: true, columns: args.cols, rows: args.rows },
);
const screen = createScreen({ input, output });
const main = new MainScreen(screen, { client, features: {}, onQuit: () => {} });
screen.on('keypress', (ch: string | undefined, key: { full?: string; name?: string }) => {
  if (key.full !== 'return') main.handleKey(ch, key);
});
await new Promise((r) => setTimeout(r, 100));
const baseline = memory();

/** Time from writing `keys` to the terminal input until blessed writes the next frame. */
async function timeKey(keys: string): Promise<number> {
  await new Promise((r) => setImmediate(r));
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const timer = setTimeout(() => reject(new Error(`no frame within ${NO_FRAME_MS} ms of ${JSON.stringify(keys)}`)), NO_FRAME_MS);
    onWrite = () => {
      onWrite = null;
      clearTimeout(timer);
      resolve(performance.now() - started);
    };
    input.write(keys);
  });
}

async function measure(keys: string[]): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < args.keys; i++) times.push(await timeKey(keys[i % keys.length]));
  return times.sort((a, b) => a - b);
}

function fill(tab: Tab, count: number): void {
  for (let i = 0; i < count; i++) main.tabs.append(tab, { kind: LineKind.PEER, at: Date.now(), from: 'peer', text: `${i} ${MESSAGE}` });
}

const TYPE = ['x', 'y', '\x7f', '\x7f']; // type two characters, delete them: the line stays short
const SCROLL = ['\x1b[5~', '\x1b[6~']; // PgUp, PgDn
const rows: Array<Array<string | number>> = [];
const record = (what: string, lines: number, t: number[]) =>
  rows.push([what, lines.toLocaleString('en'), fmt(percentile(t, 50), 2), fmt(percentile(t, 99), 2), fmt(t[t.length - 1], 2)]);

const empty = main.tabs.addSession(new IdleSession('empty', { user: 'empty', ip: '127.0.0.1' }));
// The baseline that matters: a pane full of text, but a short scrollback (two screens).
const short = main.tabs.addSession(new IdleSession('short', { user: 'short', ip: '127.0.0.1' }));
fill(short, 2 * args.rows);
const loaded = main.tabs.addSession(new IdleSession('loaded', { user: 'loaded', ip: '127.0.0.1' }));
fill(loaded, args.lines);
// Warm up (JIT, first draws) so the first case is not charged for it.
main.tabs.selectTab(short);
await measure([...TYPE, ...SCROLL]);
for (const [what, keys] of [['type a key', TYPE], ['PgUp / PgDn', SCROLL]] as const) {
  for (const tab of what === 'type a key' ? [empty, short, loaded] : [short, loaded]) {
    main.tabs.selectTab(tab);
    record(what, tab.lines.length, await measure([...keys]));
  }
}

console.log(`\nKeypress to frame written, ${args.keys} keys per case, ${args.cols}x${args.rows} terminal (ms)\n`);
printTable(['case', 'lines in tab', 'p50', 'p99', 'max'], rows);

// Memory: the two tabs above closed, then N tabs, first light then with full scrollback.
for (const tab of [short, loaded, empty]) main.tabs.remove(tab);
const tabs: Tab[] = [];
for (let i = 0; i < args.tabs; i++) tabs.push(main.tabs.addSession(new IdleSession(`s${i}`, { user: `peer${i}`, ip: '127.0.0.1' })));
for (const tab of tabs) fill(tab, 100);
const light = memory();
for (const tab of tabs) fill(tab, MAX_TAB_LINES - 100);
const full = memory();
console.log(`\nClient memory (after GC), main screen logged in, ${args.tabs} open tabs (MiB)\n`);
printTable(
  ['state', 'heap used', 'rss', 'heap over baseline'],
  [
    ['baseline: logged in, no chat tab', fmt(baseline.heapMiB), fmt(baseline.rssMiB), '-'],
    [`${args.tabs} tabs x 100 messages`, fmt(light.heapMiB), fmt(light.rssMiB), fmt(light.heapMiB - baseline.heapMiB)],
    [`${args.tabs} tabs x ${MAX_TAB_LINES.toLocaleString('en')} messages (scrollback full)`, fmt(full.heapMiB), fmt(full.rssMiB), fmt(full.heapMiB - baseline.heapMiB)],
  ],
);
console.log(`\n(${(written / 2 ** 20).toFixed(1)} MiB of terminal output written)`);

main.dispose();
screen.destroy();
await client.close();
await server.stop();
await rm(dataDir, { recursive: true, force: true });
await rm(configDir, { recursive: true, force: true });
