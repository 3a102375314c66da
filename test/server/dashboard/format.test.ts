import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bigNumber, BIG_DIGIT_LINES } from '../../../src/server/dashboard/big-digits.ts';
import { wrapWords } from '../../../src/server/dashboard/connections-feed.ts';
import { EVENT_PREFIX_CHARS, eventLine, eventText } from '../../../src/server/dashboard/event-text.ts';
import { formatAgo, formatBytes, formatUptime, safeText, truncate } from '../../../src/server/dashboard/format.ts';
import { KEY_BINDINGS, actionFor, helpLines } from '../../../src/server/dashboard/keys.ts';
import { FRAME_INTERVAL_MS, MAX_DRAW_SHARE, RenderLoop } from '../../../src/server/dashboard/render-loop.ts';
import { waitFor } from '../../helpers/wait.ts';
import { defer } from '../../helpers/cleanup.ts';
import { nth } from '../../helpers/assert.ts';

test('big numbers are BIG_DIGIT_LINES lines of half blocks, digits one column apart', () => {
  assert.deepEqual(bigNumber(0), ['█▀█', '█ █', '▀▀▀']);
  assert.deepEqual(bigNumber(17), ['▀█  ▀▀█', ' █    █', '▀▀▀   ▀']);
  const big = bigNumber(1234567);
  assert.equal(big.length, BIG_DIGIT_LINES);
  assert.ok(big.every((line) => line.length === nth(big, 0, 'line').length));
  assert.deepEqual(bigNumber(-3), bigNumber(0), 'never negative');
});

test('formatters', () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 kB');
  assert.equal(formatBytes(85 * 1024 * 1024), '85.0 MB');
  assert.equal(formatUptime(3_725_000), '1:02:05');
  assert.equal(formatUptime(2 * 86_400_000 + 3 * 3_600_000 + 4 * 60_000), '2d 03:04');
  assert.equal(formatAgo(30_000), 'just now');
  assert.equal(formatAgo(5 * 60_000), '5m ago');
  assert.equal(formatAgo(3 * 3_600_000), '3h ago');
  assert.equal(truncate('hello world', 6), 'hello…');
  assert.equal(truncate('😀😀😀', 2), '😀…', 'cuts by code point');
  assert.equal(truncate('short', 10), 'short');
  assert.deepEqual(wrapWords(['TCP 10', 'online 9', 'UDP alive 8'], 20), ['TCP 10  online 9', 'UDP alive 8']);
});

test('untrusted text cannot inject escapes or blessed tags', () => {
  assert.equal(safeText('bob\x1b[2J{red-fg}x{/red-fg}\nnext'), 'bob{open}red-fg{close}x{open}/red-fg{close} next');
  const text = eventText('login_failed', { user: '{bold}\x1b]0;pwn\x07eve', ip: '10.0.0.1', code: 'E_AUTH_FAILED' });
  assert.equal(text, 'failed login for "{bold}eve" from 10.0.0.1 (E_AUTH_FAILED)');
  assert.match(
    eventLine(0, 'warn', text),
    /\{yellow-fg\}WARN \{\/yellow-fg\} failed login for "\{open\}bold\{close\}eve" from/,
  );
  // An event this pane has no wording for still shows, with its fields.
  assert.equal(eventText('future_event', { id: 'ab12', from: 'alice' }), 'future_event id=ab12 from=alice');
  // Cut to fit one row: the prefix plus what is left of the width.
  assert.match(eventLine(0, 'info', 'x'.repeat(100), EVENT_PREFIX_CHARS + 10), / x{9}…$/);
});

test('the keys table drives both the bindings and the help', () => {
  assert.equal(actionFor('tab'), 'next_pane');
  assert.equal(actionFor('q'), 'quit');
  assert.equal(actionFor('C-c'), 'quit');
  assert.equal(actionFor('/'), 'filter');
  assert.equal(actionFor('S-s'), 'sort_reverse');
  assert.equal(actionFor('3'), 'level');
  assert.equal(actionFor('x'), undefined);
  const help = helpLines();
  assert.equal(help.length, KEY_BINDINGS.length);
  for (const binding of KEY_BINDINGS) assert.ok(help.some((line) => line.includes(binding.help)));
});

test('the render loop draws one frame for any number of requests within an interval', async () => {
  let frames = 0;
  const loop = new RenderLoop(() => (frames += 1), 50);
  try {
    for (let i = 0; i < 10_000; i++) loop.request();
    await waitFor(() => frames === 1, { what: 'the first frame' });
    for (let i = 0; i < 10_000; i++) loop.request();
    await waitFor(() => frames === 2, { what: 'the second frame' });
    assert.equal(loop.frames, 2);
  } finally {
    loop.stop();
  }
  loop.request();
  assert.equal(frames, 2, 'a stopped loop draws nothing');
});

test('a costly frame pushes the next one out, so drawing stays under MAX_DRAW_SHARE of the time', async (t) => {
  let clock = 0;
  const frameCostMs = 40;
  let frames = 0;
  // The clock is advanced by the frame itself: as if drawing took frameCostMs.
  const loop = new RenderLoop(
    () => ((clock += frameCostMs), (frames += 1)),
    FRAME_INTERVAL_MS,
    () => clock,
  );
  defer(t, () => loop.stop());
  assert.equal(loop.gapMs, FRAME_INTERVAL_MS, 'a cheap (unknown) frame: the plain interval');
  loop.request();
  await waitFor(() => frames === 1, { what: 'the first frame' });
  assert.equal(loop.frameCostMs, frameCostMs);
  assert.equal(loop.gapMs, frameCostMs / MAX_DRAW_SHARE);
  assert.ok(loop.gapMs > FRAME_INTERVAL_MS);
});
