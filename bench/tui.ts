/**
 * Issue 5 benchmark: how long a keypress takes to reach the screen with 10,000 messages in
 * the current tab (beside a tab with a screenful and the near-empty inbox, same run), and
 * the client's memory with 20 open chat tabs. Issue 13 adds a second stage: the screen is
 * built again over an encrypted history store holding 100,000 saved lines with one peer,
 * and that peer's tab is opened (time to open, keys in it, reading older pages, memory). The client (TUI main screen + client core +
 * real PeerManager) runs here over in-memory terminal streams; the server and the 20 peers
 * run in child processes, so the memory figures are the client's own. Messages arrive over
 * real peer links. "On screen" means blessed has written the frame to its output stream.
 * Run: npm run bench -- tui   (flags: --keys N --lines N --tabs N --saved N --cols N --rows N)
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { P2PClient } from '../src/client/client.ts';
import { buildFeatures } from '../src/client/tui/adapters/index.ts';
import { HISTORY_SCRYPT_LOG_N } from '../src/client/history/crypto.ts';
import { HistoryStore } from '../src/client/history/store.ts';
import { MainScreen } from '../src/client/tui/main-screen.ts';
import { HISTORY_PAGE_LINES, TabHistory } from '../src/client/tui/tab-history.ts';
import { createScreen } from '../src/client/tui/screen.ts';
import { LineKind, MAX_TAB_LINES, type Tab } from '../src/client/tui/tabs.ts';
import { forkChild } from './lib/ipc.ts';
import { fmt, percentile, printTable } from './lib/table.ts';

const args = await yargs(hideBin(process.argv))
  .option('keys', { type: 'number', default: 300, describe: 'keypresses timed per case' })
  .option('lines', { type: 'number', default: MAX_TAB_LINES, describe: 'messages per tab for the full case' })
  .option('tabs', { type: 'number', default: 20, describe: 'open chat tabs' })
  .option('saved', { type: 'number', default: 100_000, describe: 'saved lines with one peer, for the history stage' })
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
/** What a login pays (history/crypto.ts). */
const HISTORY_LOG_N = HISTORY_SCRYPT_LOG_N;
/** Saved lines a minute apart: 100,000 of them span about ten weeks, so day separators are drawn. */
const SAVED_LINE_SPACING_MS = 60_000;
const here = new URL('.', import.meta.url).pathname;

type Memory = { heapMiB: number; rssMiB: number };
function memory(): Memory {
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

let onWrite: (() => void) | null = null;
/** The TUI main screen over in-memory terminal streams; `saved` is the history stage's store. */
function buildUi(saved?: TabHistory) {
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => {} });
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
  const main = new MainScreen(screen, { client, features, onQuit: () => {}, ...(saved ? { saved } : {}) });
  screen.on('keypress', (ch: string | undefined, key: { full?: string; name?: string }) => {
    if (key.full !== 'return') main.handleKey(ch, key);
  });
  return { input, screen, main };
}
let { input, screen, main } = buildUi();

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

// ---- Stage 2: the same client, the screen built again over a history store with args.saved lines from the first peer ----
const firstPeer = names[0] as string; // names has args.tabs >= 1 entries (checked above)
const historyDir = await mkdtemp(join(tmpdir(), 'p2p-bench-tui-history-'));
const fill = await HistoryStore.open(historyDir, PASS, { logN: HISTORY_LOG_N });
const fillLog = await fill.chat(firstPeer);
const day0 = Date.now() - args.saved * SAVED_LINE_SPACING_MS;
const fillStarted = performance.now();
// One at a time, as a chat writes them (and so the setup does not leave 100,000 pending writes
// in the heap). The peer's lines, as in the first stage, so the two stages draw the same kind of rows.
for (let i = 0; i < args.saved; i++)
  await fillLog.append({ at: day0 + i * SAVED_LINE_SPACING_MS, from: firstPeer, text: `${i} ${MESSAGE}`, own: false });
await fill.close();
const fillMs = performance.now() - fillStarted;
main.dispose(); // ends the first stage's chats
screen.destroy();
await new Promise((r) => setTimeout(r, 200));
const storeStarted = performance.now();
const history = await TabHistory.load(await HistoryStore.open(historyDir, PASS, { logN: HISTORY_LOG_N }));
const unlockMs = performance.now() - storeStarted;
({ input, screen, main } = buildUi(history));
const beforeOpen = memory();
let openStarted = 0;
let openMs = Number.NaN;
let savedTab: Tab | null = null;
main.tabs.on('opened', (tab, session) => {
  if (session.peer.user !== firstPeer) return;
  savedTab = tab;
  openStarted = performance.now();
});
main.tabs.on('changed', () => {
  if (savedTab && Number.isNaN(openMs) && savedTab.savedBefore > 0) openMs = performance.now() - openStarted;
});
const answeringAgain = setInterval(() => {
  if (main.tabs.openSessions < names.length && features.peers?.requests().length) input.write('\x1by'); // Alt-Y
}, 50);
await peersChild.call('ask', { user: 'bench' });
clearInterval(answeringAgain);
await until(() => !Number.isNaN(openMs), `the tab with ${args.saved} saved lines`);
const historyTab = savedTab as Tab | null;
if (!historyTab) throw new Error('the saved tab did not open');
const opened = memory();
main.tabs.selectTab(historyTab);
await measure([...TYPE, ...SCROLL]); // settle, not counted
await keyCases([historyTab], [[`type a key, ${args.saved.toLocaleString('en')} saved`, TYPE]]);
await keyCases([historyTab], [[`PgUp / PgDn, ${args.saved.toLocaleString('en')} saved`, SCROLL]]);
const pageTimes: number[] = [];
for (;;) {
  const started = performance.now();
  if (!(await history.loadOlder(historyTab))) break;
  pageTimes.push(performance.now() - started);
}
pageTimes.sort((a, b) => a - b);
const paged = memory();
await measure(TYPE); // settle after the reads, as before each stage: not counted
await keyCases([historyTab], [[`type a key, tab full of saved lines`, TYPE]]);

console.log(`\nKeypress to frame written, ${args.keys} keys per case, ${args.cols}x${args.rows} terminal (ms)\n`);
printTable(['case', 'lines in tab', 'p50', 'p99', 'max'], keyRows);
const over = (m: Memory, base: Memory = baseline) =>
  `${fmt(m.heapMiB - base.heapMiB)} / ${fmt(m.rssMiB - base.rssMiB)}`;
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
    [
      `history stage: screen built again, before the saved tab`,
      fmt(beforeOpen.heapMiB),
      fmt(beforeOpen.rssMiB),
      over(beforeOpen),
    ],
    [
      `tab with ${args.saved.toLocaleString('en')} saved lines open`,
      fmt(opened.heapMiB),
      fmt(opened.rssMiB),
      `${over(opened)} (${over(opened, beforeOpen)} over the row above)`,
    ],
    [
      `... older pages read until the tab is full`,
      fmt(paged.heapMiB),
      fmt(paged.rssMiB),
      `${over(paged)} (${over(paged, beforeOpen)} over "screen built again")`,
    ],
  ],
);
console.log(`\nSaved history (encrypted store, ${args.saved.toLocaleString('en')} lines with one peer)\n`);
printTable(
  ['step', 'ms'],
  [
    [`write ${args.saved.toLocaleString('en')} lines (setup, one record a write)`, fmt(fillMs, 0)],
    [`unlock the store at login (scrypt logN ${HISTORY_LOG_N}) and read inbox + input`, fmt(unlockMs, 1)],
    [`open the tab: session to newest ${HISTORY_PAGE_LINES.toLocaleString('en')} lines shown`, fmt(openMs, 1)],
    [`read one older page (p50 of ${pageTimes.length})`, fmt(percentile(pageTimes, 50), 1)],
    [`read one older page (max)`, fmt(pageTimes.at(-1) ?? Number.NaN, 1)],
    [
      `lines in the tab at the end (limit ${MAX_TAB_LINES.toLocaleString('en')})`,
      historyTab.lines.length.toLocaleString('en'),
    ],
  ],
);

main.dispose();
screen.destroy();
await history.close();
await features.close?.();
await client.close();
await peersChild.call('stop');
await peersChild.stop();
await serverChild.stop();
await rm(dataDir, { recursive: true, force: true });
await rm(configDir, { recursive: true, force: true });
await rm(historyDir, { recursive: true, force: true });
