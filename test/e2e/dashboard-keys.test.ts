/**
 * The dashboard's navigation keys (issue 14), in the real bin/p2p-server in a pseudo-terminal:
 * s / S sort, Enter opens a user, a broadcast or an event, Esc goes back, / filters every
 * pane, 1-4 pick the event level, Up pauses the event log and End follows it again.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BroadcastInbox } from '../../src/client/broadcasts.ts';
import { dashboardPty, tableOnScreen } from '../helpers/dashboard.ts';
import { Keys } from '../helpers/terminal.ts';
import { waitFor } from '../helpers/wait.ts';

const USERS_HEADER = /\u2502User\b.* +Created\b/;
const END = '\x1b[F';

/** Until the deadline: the users table's first column reads `names`, top to bottom. */
function usersInOrder(server: { lines(): string[] }, names: string[]): Promise<true> {
  return waitFor(
    () => {
      const { rows } = tableOnScreen(server.lines(), USERS_HEADER);
      assert.deepEqual(
        rows.map((r) => r.split(' ')[0]).filter((n) => n),
        names,
      );
      return true as const;
    },
    { what: `users in the order ${names.join(', ')}` },
  );
}

test('users: s sorts by the next column and S reverses (the header says which); Enter opens a user whole, Esc goes back', async (t) => {
  const { server, user } = await dashboardPty(t, { cols: 120, rows: 40 });
  await (await user('carol')).close();
  await server.waitForText(/carol .*just now/);
  await (await user('alice')).close();
  await server.waitForText(/alice .*just now/);
  await user('bob');
  await server.waitForText(/Users 3 /);
  // The default order: online first, then the most recently seen.
  await usersInOrder(server, ['bob', 'alice', 'carol']);
  server.type('s');
  await server.waitForText(/User \u25b2 +Created/);
  await server.waitForText(/Users 3 · by User \u25b2/);
  await usersInOrder(server, ['alice', 'bob', 'carol']);
  server.type('S');
  await server.waitForText(/User \u25bc +Created/);
  await usersInOrder(server, ['carol', 'bob', 'alice']);
  server.type('s');
  await server.waitForText(/Created \u25b2/);
  await usersInOrder(server, ['carol', 'alice', 'bob']);

  // Enter opens the selected (first) row: carol, offline, with her history.
  server.type(Keys.ENTER);
  const detail = await server.waitForText(/User carol · Esc back/);
  assert.match(detail, /Created +\d{4}-\d\d-\d\d \d\d:\d\d/);
  assert.match(detail, /Last seen +just now \(\d{4}-/);
  assert.match(detail, /Session +none/);
  assert.match(detail, /Pending peer requests: 0/);
  assert.match(detail, /Broadcasts waiting for carol: 0/);
  assert.match(detail, /registered carol from 127\.0\.0\.1/);
  server.type(Keys.ESC);
  await waitFor(() => !server.text().includes('Esc back'), { what: 'the detail closed' });
  // Down, Enter: bob, online, with his session and paths.
  server.type(Keys.DOWN);
  server.type(Keys.DOWN);
  server.type(Keys.ENTER);
  const bob = await server.waitForText(/User bob · Esc back/);
  assert.match(bob, /Last seen +online now/);
  assert.match(bob, /IP +127\.0\.0\.1/);
  assert.match(bob, /TCP +online, \d+ B queued to send/);
  assert.match(bob, /UDP +(alive|unregistered|dead|not heard)/);
  server.type(Keys.ESC);
  await waitFor(() => !server.text().includes('Esc back'), { what: 'the detail closed' });
});

test('broadcasts: Enter lists every recipient (delivered when and via which path, pending online or offline); / and s work here too', async (t) => {
  const { server, user, client } = await dashboardPty(t, { cols: 120, rows: 40 });
  await (await user('dave')).close(); // offline: owed the broadcast at his next login
  await user('bob'); // online, never acks (no inbox)
  const alice = await client();
  const inbox = new BroadcastInbox(alice, { ackDelayMaxMs: 10 });
  await alice.register('alice', 'password-alice');
  const reply = await alice.request({ t: 'broadcast', text: 'lunch is served' });
  assert.equal(reply.t, 'broadcast_ok');
  const bid = (reply as { bid: string }).bid;
  await waitFor(() => inbox.items.length === 1, { what: "alice's copy" });
  await server.waitForText(/Pending broadcasts 1 /);
  server.type(Keys.TAB);
  server.type(Keys.ENTER);
  await server.waitForText(new RegExp(`Broadcast ${bid.slice(0, 8)} · Esc back`));
  await server.waitForText(new RegExp(`Broadcast +${bid}`));
  await server.waitForText(/Text +lunch is served/);
  await server.waitForText(/alice: delivered \d\d:\d\d:\d\d via (UDP|TCP) \(\d+\.\d\d s\)/);
  await server.waitForText(/Delivered: 1/);
  for (const line of [
    /Pending, online: 1/,
    /bob: pending, online, sending via (UDP|TCP)/,
    /Pending, offline: 1/,
    /dave: pending, offline \(sent at next login\)/,
  ])
    // The detail may still be painting (a pty delivers the screen in pieces): wait for each line.
    await server.waitForText(line);
  server.type(Keys.ESC);
  await waitFor(() => !server.text().includes('Esc back'), { what: 'the detail closed' });

  server.type('/');
  await server.waitForText('Filter broadcasts: sender, text or id');
  server.type('pizza');
  await server.waitForText(/Pending broadcasts 0 of 1 · filter "pizza"/);
  server.type(Keys.ESC);
  await server.waitForText(/Pending broadcasts 1 \u2500/);
  server.type('s');
  await server.waitForText(/ID \u25b2 +From/);
});

test('events: 1-4 pick the level, / filters by text, Up pauses and Enter opens the event whole, End follows again', async (t) => {
  const { server, user, client } = await dashboardPty(t, { cols: 120, rows: 40 });
  await user('erin');
  const guesser = await client();
  await assert.rejects(guesser.login('mallory', 'guess one'));
  await assert.rejects(guesser.login('trudy', 'guess two'));
  await server.waitForText(/failed login for "trudy"/);
  server.type(Keys.TAB + Keys.TAB);
  server.type('3');
  await server.waitForText(/Events \d+ · showing \d+ · warn\+/);
  await waitFor(() => !server.text().includes('registered erin'), { what: 'info events hidden at 3' });
  await server.waitForText(/failed login for "mallory"/);
  server.type('2');
  await server.waitForText('registered erin');

  server.type('/');
  await server.waitForText('Filter events: any text');
  server.type('failed' + Keys.ENTER);
  await server.waitForText(/filter "failed"/);
  await waitFor(() => !server.text().includes('registered erin'), { what: 'only matching events' });

  // Up pauses on the event before the newest; Enter shows it with every field.
  server.type(Keys.UP);
  await server.waitForText(/· paused/);
  server.type(Keys.ENTER);
  const detail = await server.waitForText(/Event login_failed · Esc back/);
  assert.match(detail, /Level +warn/);
  assert.match(detail, /user +mallory/);
  assert.match(detail, /ip +127\.0\.0\.1/);
  assert.match(detail, /code +E_AUTH_FAILED/);
  server.type(Keys.ESC);
  await waitFor(() => !server.text().includes('Esc back'), { what: 'the detail closed' });
  server.type(END);
  await waitFor(() => !server.text().includes('paused'), { what: 'following again' });
  server.type(Keys.ESC); // clears the events filter
  await server.waitForText('registered erin');

  server.type('?');
  const help = await server.waitForText('sort the table by the next column');
  assert.match(help, /1-4 +event log from level/);
  assert.match(help, /Enter +details of the selected user, broadcast or event/);
});
