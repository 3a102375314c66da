/**
 * Issue 14's defects, each in the real bin/p2p-server in a pseudo-terminal: tables after a
 * resize, columns that fill their panes and line up under their headers, last-seen after
 * kill -9, event lines read in full, the chart's legend and floor.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseUsersCsv } from '../../src/server/users/csv-store.ts';
import { dashboardPty, tableOnScreen } from '../helpers/dashboard.ts';
import { tempDir } from '../helpers/server.ts';
import { defer } from '../helpers/cleanup.ts';
import { waitFor } from '../helpers/wait.ts';

const USERS_HEADER = /\u2502User +Created +Seen/;
const BROADCASTS_HEADER = /\u2502ID +From +Left +Acked +Text/;
const name = (i: number) => `user${String(i).padStart(2, '0')}`;

/**
 * Until the deadline, the users table as drawn shows these users first, in order, and no
 * row below them (a read may catch a frame half written: the wait reads again).
 */
function usersTableShows(server: { lines(): string[] }, expected: string[]): Promise<true> {
  return waitFor(() => (assertUsersTable(server.lines(), expected), true as const), {
    what: `the users table showing ${expected.join(', ')}`,
  });
}

function assertUsersTable(lines: string[], expected: string[]): void {
  const { rows } = tableOnScreen(lines, USERS_HEADER);
  const names = rows.map((r) => r.trimStart().split(' ')[0] ?? '');
  assert.deepEqual(names.slice(0, expected.length), expected, `rows:\n${rows.join('\n')}`);
  assert.ok(
    names.slice(expected.length).every((n) => n === ''),
    `nothing below the users:\n${rows.join('\n')}`,
  );
}

test('after 100x30 -> 60x15 (too small) -> 100x30 the tables show their first rows, also as new data arrives', async (t) => {
  const { server, user } = await dashboardPty(t, { cols: 100, rows: 30 });
  for (let i = 0; i < 12; i++) await (await user(name(i))).close();
  await server.waitForText(/Users 12 /);
  // Newest seen first; the pane has room for 5 rows at 100x30.
  const firstFive = [11, 10, 9, 8, 7].map(name);
  await usersTableShows(server, firstFive);
  server.resize(60, 15);
  await server.waitForText(/Terminal too small/);
  server.resize(100, 30);
  await server.waitForText(/Users 12 /);
  await usersTableShows(server, firstFive);
  // New data: a 13th user comes online and takes the first row; the rest move down one.
  const late = await user('late');
  await server.waitForText(/Users 13 /);
  await usersTableShows(server, ['late', ...firstFive.slice(0, 4)]);
  await late.close();
});

/** Each header's x, and each row's cell starts: a cell starts where its header does. */
function assertAligned(header: string, row: string, titles: readonly string[]): void {
  for (const title of titles) {
    const x = header.indexOf(title);
    assert.ok(x >= 0, `header ${title} in ${header}`);
    assert.notEqual(row[x], ' ', `a cell starts under ${title} (x ${x}):\n${header}\n${row}`);
    if (x > 0) assert.equal(row[x - 1], ' ', `one space before the cell under ${title}:\n${header}\n${row}`);
  }
}

function assertColumns(lines: string[], cols: number, rows: number, bid: string, text: string): void {
  const users = tableOnScreen(lines, USERS_HEADER);
  const aliceRow = users.rows.find((r) => r.startsWith('alice')) ?? '';
  assert.match(
    aliceRow,
    /^alice +\d{4}-\d\d-\d\d \d\d:\d\d +online +127\.0\.0\.1 +online +\w+/,
    `the date whole: ${aliceRow} (${cols}x${rows})`,
  );
  assertAligned(users.header, aliceRow, ['Created', 'Seen', 'IP', 'TCP', 'UDP']);

  const broadcasts = tableOnScreen(lines, BROADCASTS_HEADER);
  const row = broadcasts.rows.find((r) => r.startsWith(bid)) ?? '';
  assert.ok(row.startsWith(`${bid} alice`), `the id whole: ${row}`);
  assertAligned(broadcasts.header, row, ['From', 'Left', 'Acked', 'Text']);
  // The text runs to the pane's right edge (one free column), cut there with an ellipsis.
  const shown = row.slice(broadcasts.header.indexOf('Text'));
  assert.ok(shown.endsWith('… '), `the text cut at the edge, not before it: "${shown}" (${cols}x${rows})`);
  assert.ok(text.startsWith(shown.slice(0, -2)), shown);
  assert.ok(shown.length - 2 >= (cols === 120 ? 18 : 8), `${shown.length - 2} characters of text at ${cols}x${rows}`);
}

test('columns: rows line up under their headers, dates and ids read whole, the text fills the broadcasts pane', async (t) => {
  const { server, user } = await dashboardPty(t, { cols: 120, rows: 40 });
  const alice = await user('alice');
  const text = 'The server restarts at noon for an upgrade; save your work and log in again at five past twelve.';
  const reply = await alice.request({ t: 'broadcast', text });
  assert.equal(reply.t, 'broadcast_ok');
  const bid = (reply as { bid: string }).bid.slice(0, 8);
  for (const [cols, rows] of [
    [120, 40],
    [80, 24],
  ] as const) {
    server.resize(cols, rows);
    await server.waitForText(new RegExp(`${bid} +alice`));
    await waitFor(() => (assertColumns(server.lines(), cols, rows, bid, text), true), {
      what: `the columns at ${cols}x${rows}`,
    });
  }
});

test('after kill -9 and a restart, a user who was online seconds before reads "just now", not "never"', async (t) => {
  const data = await tempDir('dash-crash');
  defer(t, () => data.remove());
  const first = await dashboardPty(t, { dataDir: data.path });
  await first.user('alice');
  await first.server.waitForText(/alice .*online/);
  // The batched write of alice's last-seen reaches the file (LAST_SEEN_FLUSH_MS after the login).
  await waitFor(
    async () =>
      parseUsersCsv(await readFile(join(data.path, 'users.csv'), 'utf8'), 'users.csv').find(
        (u) => u.username === 'alice',
      )?.lastSeenAt,
    { what: "alice's last-seen in users.csv while she is online" },
  );
  first.server.kill(); // SIGKILL: no logout is ever written
  const second = await dashboardPty(t, { dataDir: data.path });
  const screen = await second.server.waitForText(/Users 1 /);
  const row = tableOnScreen(screen.split('\n'), USERS_HEADER).rows.find((r) => r.startsWith('alice')) ?? '';
  assert.match(row, /^alice +\S+ \S+ +just now/, row);
});

test('a long event reads in full: it wraps in the event pane instead of being cut', async (t) => {
  const { server, client } = await dashboardPty(t, { cols: 80, rows: 24 });
  const guesser = await client();
  const long = 'a-user-name-long-enough-to-wrap';
  await assert.rejects(guesser.login(long, 'not a password of anyone'));
  const line = `failed login for "${long}" from 127.0.0.1 (E_AUTH_FAILED)`;
  await waitFor(
    () => {
      const pane = server.lines().flatMap((r) => /\u2502\u2502(.*)\u2502\s*$/.exec(r)?.[1] ?? []);
      return pane.join('').replace(/\s+/g, '').includes(line.replace(/\s+/g, ''));
    },
    { what: `"${line}" whole in the event pane` },
  );
  assert.doesNotMatch(server.text(), /\(E_…/);
});

test("the chart's legend covers neither the newest data nor the time labels at 80x24, and a flat 0 reads 0", async (t) => {
  const { server, user } = await dashboardPty(t, { cols: 80, rows: 24 });
  const alice = await user('alice');
  // The chart's own rows: right of the connections pane, above the users pane.
  const chartRows = () => {
    const lines = server.lines();
    const bottom = lines.findIndex((l) => l.includes('\u2500 Users'));
    return lines.slice(0, bottom).map((l) => l.slice(l.indexOf('\u2502\u250c') + 1 || l.indexOf('\u2502\u2502') + 1));
  };
  await waitFor(
    () => {
      const rows = chartRows();
      const top = rows[0] ?? '';
      assert.match(top, /Last 10 minutes: TCP sessions, UDP alive/, 'the legend is in the label');
      const inside = rows.slice(1, -1).join('\n');
      assert.doesNotMatch(inside, /[\u250c\u2514]|TCP sessions/, 'no legend box inside the chart');
      assert.match(inside, /\d\d:\d\d:\d\d +now/, 'time labels, up to now, all readable');
      // The y labels, top to bottom, fall to 0, and 0 labels the row of the baseline's data.
      const labels = [...inside.matchAll(/\u2502 +(\d+) +\u2847/g)].map((m) => Number(m[1]));
      assert.ok(labels.length > 0 && labels[labels.length - 1] === 0, `y labels ${labels.join(',')}`);
      assert.deepEqual(
        labels,
        [...labels].sort((a, b) => b - a),
        `y labels ${labels.join(',')}`,
      );
      return true;
    },
    { what: 'the chart drawn with its labels' },
  );
  await alice.close();
});
