/**
 * Issue 5 benchmark: how long a keypress takes to reach the screen with 10,000 messages in
 * the current tab (beside a tab with a screenful and the near-empty inbox, same run), and
 * the client's memory with 20 open chat tabs. The client (TUI main screen + client core +
 * real PeerManager) runs here over in-memory terminal streams; the server and the 20 peers
 * run in child processes, so the memory figures are the client's own. Messages arrive over
 * real peer links. "On screen" means blessed has written the frame to its output stream.
 * Run: npm run bench -- tui   (flags: --keys N --lines N --tabs N --cols N --rows N)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { P2PClient } from '../src/client/client.ts';
import { buildFeatures } from '../src/client/tui/adapters/index.ts';
import { MainScreen } from '../src/client/tui/main-screen.ts';
import { createScreen } from '../src/client/tui/screen.ts';
import { LineKind, MAX_TAB_LINES, type Tab } from '../src/client/tui/tabs.ts';
import { forkChild } from './lib/ipc.ts';
import { fmt, percentile, printTable } from './lib/table.ts';

const args = await yargs(hideBin(process.argv))
  .option('keys', { type: 'number', default: 300, describe: 'keypresses timed per case' })
  .option('lines', { type: 'number', default: MAX_TAB_LINES, describe: 'messages per tab for the full case' })
  .option('tabs', { type: 'number', default: 20, describe: 'open chat tabs' })
  .option('cols', { type: 'number', default: 120 })
  .option('rows', { type: 'number', default: 40 })
  .strict()
  .parseAsync();

/** A key that changes nothing draws nothing; fail loudly rather than wait forever. */
const NO_FRAME_MS = 5_000;
const FILL_WAIT_MS = 120_000;
const LIGHT_LINES = 100;
const PASS = 'bench password';
const MESSAGE = 'a fairly ordinary chat message of about sixty characters, ok';
const here = new URL('.', import.meta.url).pathname;

function memory() {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  return { heapMiB: m.heapUsed / 2 ** 20, rssMiB: m.rss / 2 ** 20 };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + FILL_WAIT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const dataDir = await mkdtemp(join(tmpdir(), 'p2p-bench-tui-'));
const configDir = await mkdtemp(join(tmpdir(), 'p2p-bench-tui-cfg-'));
const serverChild = forkChild(join(here, 'lib/server-child.ts'));
const peersChild = forkChild(join(here, 'lib/tui-peers-child.ts'));
const { port } = await serverChild.call<{ port: number }>('start', {
  kind: 'real',
  dataDir,
  scryptLogN: 10,
  maxConnections: 1000,
});

const client = new P2PClient({ host: '127.0.0.1', port, configDir });
const features = await buildFeatures(client);
await client.register('bench', PASS);

const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => {} });
let onWrite: (() => void) | null = null;
const output = Object.assign(
  new Writable({
    write(_chunk: Buffer, _enc, cb) {
      onWrite?.();
      cb();
    },
  }),
  { isTTY: true, columns: args.cols, rows: args.rows },
);
const screen = createScreen({ input, output });
const main = new MainScreen(screen, { client, features, onQuit: () => {} });
screen.on('keypress', (ch: string | undefined, key: { full?: string; name?: string }) => {
  if (key.full !== 'return') main.handleKey(ch, key);
});

/** Time from writing `keys` to the terminal input until blessed writes the next frame. */
async function timeKey(keys: string): Promise<number> {
  await new Promise((r) => setImmediate(r));
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const timer = setTimeout(
      () => reject(new Error(`no frame within ${NO_FRAME_MS} ms of ${JSON.stringify(keys)}`)),
      NO_FRAME_MS,
    );
    onWrite = () => {
      onWrite = null;
      clearTimeout(timer);
      resolve(performance.now() - started);
    };
    input.write(keys);
  });
}

async function measure(keys: readonly string[]): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < args.keys; i++) {
    const key = keys[i % keys.length];
    if (key === undefined) throw new Error('measure: no keys to press');
    times.push(await timeKey(key));
  }
  return times.sort((a, b) => a - b);
}

const TYPE = ['x', 'y', '\x7f', '\x7f']; // type two characters, delete them: the line stays short
const SCROLL = ['\x1b[5~', '\x1b[6~']; // PgUp, PgDn
const keyRows: Array<Array<string | number>> = [];
async function keyCases(tabs: Tab[], cases: Array<[string, readonly string[]]>): Promise<void> {
  for (const [what, keys] of cases) {
    for (const tab of tabs) {
      main.tabs.selectTab(tab);
      const t = await measure(keys);
      keyRows.push([
        what,
        tab.lines.length.toLocaleString('en'),
        fmt(percentile(t, 50), 2),
        fmt(percentile(t, 99), 2),
        fmt(t.at(-1) ?? Number.NaN, 2),
      ]);
    }
  }
}
const peerLines = (tab: Tab) => tab.lines.slice(0, tab.lines.length).filter((l) => l.kind === LineKind.PEER).length;

await new Promise((r) => setTimeout(r, 200));
const baseline = memory();
const names = await peersChild.call<string[]>('start', { port, count: args.tabs, prefix: 'peer', pass: PASS });
// Each peer asks; the bench answers every request notice with Alt-Y, as a user would.
const answering = setInterval(() => {
  if (main.tabs.openSessions < names.length && features.peers?.requests().length) input.write('\x1by');
}, 50);
await peersChild.call('ask', { user: 'bench' });
clearInterval(answering);
await until(() => main.tabs.openSessions === args.tabs, `${args.tabs} open chat tabs`);
const chats = main.tabs.tabs.filter((t) => t.session);
const [firstChat] = chats;
if (!firstChat) throw new Error('no chat tab open: the bench needs --tabs 1 or more');
const open = memory();

await peersChild.call('send', { perLink: LIGHT_LINES, text: MESSAGE });
await until(() => chats.every((t) => peerLines(t) >= LIGHT_LINES), `${LIGHT_LINES} messages in every tab`);
const light = memory();
// Settle before each stage (JIT, the GC after a burst of arrivals); those keys are not counted.
const settle = async () => {
  main.tabs.selectTab(firstChat);
  await measure([...TYPE, ...SCROLL]);
};
await settle();
await keyCases([main.tabs.inbox, firstChat], [['type a key', TYPE]]);
await keyCases([firstChat], [['PgUp / PgDn', SCROLL]]);

await peersChild.call('send', { perLink: args.lines - LIGHT_LINES, text: MESSAGE });
await until(
  () => chats.every((t) => t.lines.length >= Math.min(args.lines, MAX_TAB_LINES)),
  `${args.lines} lines in every tab`,
);
const full = memory();
await settle();
await keyCases([main.tabs.inbox, firstChat], [['type a key', TYPE]]);
await keyCases([firstChat], [['PgUp / PgDn', SCROLL]]);

console.log(`\nKeypress to frame written, ${args.keys} keys per case, ${args.cols}x${args.rows} terminal (ms)\n`);
printTable(['case', 'lines in tab', 'p50', 'p99', 'max'], keyRows);
const over = (m: { heapMiB: number; rssMiB: number }) =>
  `${fmt(m.heapMiB - baseline.heapMiB)} / ${fmt(m.rssMiB - baseline.rssMiB)}`;
console.log(
  `\nClient process memory after GC (MiB): TUI + client core + peer links; server and peers in other processes\n`,
);
printTable(
  ['state', 'heap used', 'rss', 'over baseline (heap / rss)'],
  [
    ['baseline: logged in, no chat', fmt(baseline.heapMiB), fmt(baseline.rssMiB), '-'],
    [`${args.tabs} chat tabs open, no messages`, fmt(open.heapMiB), fmt(open.rssMiB), over(open)],
    [`${args.tabs} tabs x ${LIGHT_LINES} messages`, fmt(light.heapMiB), fmt(light.rssMiB), over(light)],
    [
      `${args.tabs} tabs x ${args.lines.toLocaleString('en')} messages`,
      fmt(full.heapMiB),
      fmt(full.rssMiB),
      over(full),
    ],
  ],
);

main.dispose();
screen.destroy();
await features.close?.();
await client.close();
await peersChild.call('stop');
await peersChild.stop();
await serverChild.stop();
await rm(dataDir, { recursive: true, force: true });
await rm(configDir, { recursive: true, force: true });
