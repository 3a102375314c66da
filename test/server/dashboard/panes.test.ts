import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventEmitter } from 'eventemitter3';
import type { BroadcastQueueView, PendingBroadcastInfo } from '../../../src/server/dashboard/broadcasts-feed.ts';
import { EVENT_LOG_LINES } from '../../../src/server/dashboard/event-log-feed.ts';
import { OUTPUT_QUEUE_BYTES } from '../../../src/net/constants.ts';
import { paneBorderColor, withDashboard } from '../../helpers/dashboard.ts';
import { Keys } from '../../helpers/terminal.ts';
import { onlineUser, received } from '../../helpers/broadcast.ts';
import { waitFor } from '../../helpers/wait.ts';
import { textWidth } from '../../../src/term/unicode-width.ts';
import { nth } from '../../helpers/assert.ts';

/**
 * The pane's input contract filled by hand, with an injected clock: countdowns and expiry
 * are checked in milliseconds. The test below runs the same pane on the server's own queue.
 */
class FixedQueue implements BroadcastQueueView {
  items: PendingBroadcastInfo[] = [];
  readonly changes = new EventEmitter<{ change: [] }>();
  pending(): readonly PendingBroadcastInfo[] {
    return this.items;
  }
}

test('pending broadcasts: id, sender, mm:ss countdown, acked n/N, preview; rows leave on expiry', async () => {
  let clock = Date.parse('2025-01-01T12:00:00Z');
  const queue = new FixedQueue();
  await withDashboard(
    async ({ term }) => {
      await term.waitForText(/Pending broadcasts 0/);
      queue.items = [
        {
          id: 'a1b2c3d4e5f6',
          sender: 'alice',
          text: 'server maintenance\nat noon {bold}',
          createdAt: clock,
          expiresAt: clock + 90_000,
          acked: 2,
          recipients: 5,
        },
        {
          id: 'ffee',
          sender: 'bob',
          text: 'short one',
          createdAt: clock,
          expiresAt: clock + 30_000,
          acked: 0,
          recipients: 5,
        },
      ];
      queue.changes.emit('change');
      let screen = await term.waitForText(/ffee +bob +00:30 +0\/5 +short one/);
      assert.match(
        screen,
        /a1b2c3d4 +alice +01:30 +2\/5 +server maintenance at noon \{bold\}/,
        'one line, tags shown as text',
      );
      assert.match(screen, /Pending broadcasts 2/);
      // The soonest to expire comes first.
      assert.ok(screen.indexOf('ffee') < screen.indexOf('a1b2c3d4'));

      clock += 31_000; // the countdown moves on the next tick; bob's has run out
      screen = await term.waitForText(/a1b2c3d4 +alice +00:59/);
      assert.doesNotMatch(screen, /ffee +bob/);
      clock += 60_000;
      await term.waitForText(/Pending broadcasts 0/);
      assert.doesNotMatch(term.text(), /a1b2c3d4/);
    },
    { broadcasts: queue, now: () => clock, cols: 200 }, // wide enough for the whole preview
  );
});

test("the server's queue: a broadcast appears with its countdown and acks, and leaves when its ttl is up", async () => {
  const ttlMs = 4_000;
  await withDashboard(
    async ({ server, term }) => {
      const alice = await onlineUser(server, 'alice');
      const bob = await onlineUser(server, 'bob');
      const reply = await alice.client.request({ t: 'broadcast', text: 'fire drill at {noon}\nbring a coat' });
      assert.equal(reply.t, 'broadcast_ok');
      const bid = (reply as { bid: string }).bid.slice(0, 8);
      // Both are online with live UDP paths: both acknowledge, 2 of the 2 registered.
      await received(bob, (reply as { bid: string }).bid);
      const row = new RegExp(`${bid} +alice +00:0[0-4] +2/2 +fire drill at \\{noon\\} bring a coat`);
      await term.waitForText(row);
      await term.waitForText(new RegExp(`broadcast ${bid} from alice: "fire drill at \\{noon\\} bring a coat"`));
      await term.waitForText(new RegExp(`broadcast ${bid} acknowledged by all 2 users`));
      await term.waitForText(/Pending broadcasts 0/, ttlMs + 10_000);
      assert.doesNotMatch(term.text(), new RegExp(`${bid} +alice +\\d\\d:\\d\\d`));
      await term.waitForText(new RegExp(`broadcast ${bid} from alice expired, acknowledged by 2 of 2`));
    },
    { cols: 200, server: { broadcastTtlMs: ttlMs } },
  );
});

test('the event pane keeps the last EVENT_LOG_LINES lines and counts all', async () => {
  await withDashboard(async ({ term, dashboard }) => {
    const dropped = 100;
    const total = EVENT_LOG_LINES + dropped;
    for (let i = 0; i < total; i++) dashboard.log('info', 'test_event', { n: i });
    await term.waitForText(`Events ${total}`);
    await term.waitForText(`test_event n=${total - 1}`);
    assert.ok(dashboard.frames < total / 10, `${total} events drew ${dashboard.frames} frames`);
    // Scroll the event pane to its top: the oldest line kept is the first not dropped.
    term.type(Keys.TAB + Keys.TAB);
    await waitFor(() => (paneBorderColor(term, 'Events') === paneBorderColor(term, 'Users') ? null : true), {
      what: 'events focused',
    });
    for (let i = 0; i < EVENT_LOG_LINES; i += 5) term.type(Keys.PAGE_UP);
    const top = await term.waitForText(new RegExp(`test_event n=${dropped}\\b`));
    assert.doesNotMatch(top, new RegExp(`test_event n=${dropped - 1}\\b`));
  });
});

test('console output and process warnings go to the event pane while the dashboard is up, and back after', async () => {
  const original = console.log;
  const warningListeners = process.listeners('warning');
  await withDashboard(
    async ({ term }) => {
      assert.notEqual(console.log, original);
      console.log('stray %s from a module', 'output');
      await term.waitForText('console.log: stray output from a module');
      process.emitWarning('something odd', 'OddWarning');
      await term.waitForText('OddWarning: something odd');
    },
    { captureConsole: true },
  );
  assert.equal(console.log, original);
  assert.deepEqual(process.listeners('warning'), warningListeners);
});

test('a terminal that stops reading costs the server nothing: frames are skipped until it drains', async () => {
  await withDashboard(async ({ server, term, dashboard }) => {
    term.stall();
    // Fill the queue to the terminal past OUTPUT_QUEUE_BYTES.DASHBOARD_SKIP_FRAMES (NULs: the terminal ignores them).
    term.output.write(Buffer.alloc(OUTPUT_QUEUE_BYTES.DASHBOARD_SKIP_FRAMES + 1));
    const framesBefore = dashboard.frames;
    const grace = await server.client();
    await grace.register('grace', 'graces password'); // the server answers as usual
    await waitFor(() => dashboard.skippedFrames > 0, { what: 'a skipped frame' });
    assert.equal(dashboard.frames, framesBefore, 'nothing drawn while the terminal is stalled');
    term.unstall();
    await term.waitForText(/registered grace from 127\.0\.0\.1/);
    await term.waitForText(/Users 1/);
  });
});

test('the footer keeps time (drawn on its own between full frames)', async () => {
  let clock = Date.parse('2025-01-01T12:00:00Z');
  await withDashboard(
    async ({ term, dashboard }) => {
      await term.waitForText(/Up 0:00:00/);
      const frames = dashboard.frames;
      clock += 65_000;
      await term.waitForText(/Up 0:01:05/);
      assert.ok(dashboard.frames > frames);
      clock += 3_600_000;
      await term.waitForText(/Up 1:01:05/);
      // The rest of the screen is intact around the footer's lines.
      assert.match(term.text(), /Users 0/);
      assert.match(term.text(), /Listening 127\.0\.0\.1/);
    },
    { now: () => clock },
  );
});

test('following, the event pane shows the newest events whole: long and wide ones wrap onto further rows', async () => {
  await withDashboard(async ({ term, dashboard }) => {
    const long = (i: number) => `longname-${String(i).padStart(2, '0')}-${'x'.repeat(60)}`;
    for (let i = 0; i < 12; i++)
      dashboard.log('warn', 'login_failed', { user: long(i), ip: '127.0.0.1', code: 'E_AUTH_FAILED' });
    const wide = '漢字テスト😀😀'.repeat(3);
    dashboard.log('warn', 'login_failed', { user: wide, ip: '127.0.0.9', code: 'E_AUTH_FAILED' });
    dashboard.log('info', 'test_event', { n: 'newest' });
    const text = await term.waitForText('test_event n=newest');
    const rows = text.split('\n');
    // The event pane is the right half of the bottom row of panes: read it alone, borders off.
    const pane = rows.flatMap((r) => /\u2502\u2502(.*)\u2502\s*$/.exec(r)?.[1] ?? []).join('');
    const squeezed = pane.replace(/\s+/g, '');
    assert.ok(squeezed.includes(`failedloginfor"${long(11)}"from127.0.0.1(E_AUTH_FAILED)`), 'the long one, whole');
    assert.ok(squeezed.includes(`failedloginfor"${wide}"from127.0.0.9`), 'the wide one, whole');
    assert.ok(!pane.includes('…'), 'nothing cut');
    const width = (r: string) => textWidth(r);
    const full = width(nth(rows, 0, 'row'));
    for (const r of rows) assert.ok(width(r) <= full, `a row overflows the screen: ${r}`);
    for (const r of rows.filter((r) => /\d\d:\d\d:\d\d (WARN|INFO)/.test(r)))
      assert.match(r, /\u2502\s*$/, `the pane's right border stands: ${r}`);
  });
});
