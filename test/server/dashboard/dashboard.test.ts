import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eventText } from '../../../src/server/dashboard/event-text.ts';
import { followServerEvents } from '../../../src/server/log.ts';
import { paneBorderColor, userRow, withDashboard } from '../../helpers/dashboard.ts';
import { joinAs, relayPair } from '../../helpers/relay.ts';
import { Keys } from '../../helpers/terminal.ts';
import { waitFor } from '../../helpers/wait.ts';

test('connections pane counts clients in and out; users table shows their live state', async () => {
  await withDashboard(async ({ server, term }) => {
    await term.waitForText('TCP 0  online 0  UDP alive 0');
    const alice = await server.client();
    await alice.register('alice', 'correct horse');
    const bob = await server.client();
    await bob.register('bob', 'battery staple');
    await waitFor(() => alice.udpState === 'alive' && bob.udpState === 'alive', { what: 'both UDP paths alive' });
    await term.waitForText('TCP 2  online 2  UDP alive 2');
    // The users table redraws at most once a second (USERS_MIN_REFRESH_MS).
    await term.waitForText(/alice .*online +127\.0\.0\.1 +online +alive/);
    await term.waitForText(/Users 2/);

    await bob.close();
    await term.waitForText('TCP 1  online 1  UDP alive 1');
    const after = await term.waitForText(/bob .*just now/);
    assert.doesNotMatch(userRow(after, 'bob') ?? '', /127\.0\.0\.1/, 'no IP for an offline user');
    await alice.close();
    await term.waitForText('TCP 0  online 0  UDP alive 0');
  });
});

test('event log shows registrations and failed logins with username and IP, never the password', async () => {
  await withDashboard(
    async ({ server, term }) => {
      // The property is about the data: every event's text and fields, whole. The screen
      // shows only what fits a pane, so a password at the end of a long line would pass there.
      const records: string[] = [];
      const unfollow = followServerEvents(server.app.core, (_level, event, fields) => {
        records.push(eventText(event, fields), JSON.stringify(fields));
      });
      const carol = await server.client();
      await carol.register('carol', 'carols password');
      await carol.close();
      const mallory = await server.client();
      await assert.rejects(mallory.login('carol', 'guessed-wrong-secret'), /wrong username or password/);
      const screen = await term.waitForText(/failed login for "carol" from 127\.0\.0\.1 \(E_AUTH_FAILED\)/);
      assert.match(screen, /registered carol from 127\.0\.0\.1/);
      assert.match(screen, /login carol from 127\.0\.0\.1/);
      assert.doesNotMatch(term.text(), /guessed-wrong-secret|carols password/);
      unfollow();
      assert.ok(
        records.some((r) => r.includes('failed login for "carol"')),
        'the failed login was recorded',
      );
      assert.deepEqual(
        records.filter((r) => /guessed-wrong-secret|carols password/.test(r)),
        [],
        'no event carries a password',
      );
    },
    { cols: 160 },
  ); // wide enough that no event line wraps
});

test('the --log-level threshold applies to the event pane', async () => {
  await withDashboard(
    async ({ server, term }) => {
      const dave = await server.client();
      await dave.register('dave', 'daves password');
      // debug: every connection is listed as it opens
      await term.waitForText(/connection #\d+ from 127\.0\.0\.1 \(1 open\)/);
      await dave.close();
    },
    { logLevel: 'debug' },
  );
  await withDashboard(
    async ({ server, term }) => {
      const erin = await server.client();
      await erin.register('erin', 'erins password');
      await term.waitForText('registered erin');
      assert.doesNotMatch(term.text(), /connection #\d+ from/);
      await erin.close();
    },
    { logLevel: 'info' },
  );
});

test('/ filters the users table by name as you type; Esc clears it', async () => {
  await withDashboard(async ({ server, term }) => {
    for (const name of ['alice', 'albert', 'bob']) {
      const client = await server.client();
      await client.register(name, `${name} password`);
      await client.close();
    }
    await term.waitForText('Users 3');
    term.type('/');
    const prompt = await term.waitForText('Filter users');
    assert.match(prompt, /Filter users: name or IP \(Enter keeps, Esc clears\)/, 'the whole label');
    term.type('al');
    let screen = await term.waitForText('Users 2 of 3');
    assert.ok(userRow(screen, 'alice') && userRow(screen, 'albert'));
    assert.equal(userRow(screen, 'bob'), undefined);
    term.type('i');
    await term.waitForText('Users 1 of 3');
    term.type(Keys.ENTER);
    await waitFor(() => !term.text().includes('Filter users'), { what: 'the prompt closed' });
    assert.match(term.text(), /Users 1 of 3 · filter "ali"/, 'Enter keeps the filter');
    // Esc in the pane clears a kept filter too.
    term.type(Keys.ESC);
    await term.waitForText(/Users 3 \u2500/);
    term.type('/');
    await term.waitForText('Filter users');
    term.type('ali' + Keys.ENTER);
    await term.waitForText('Users 1 of 3');
    term.type('/');
    await term.waitForText('Filter users');
    term.type(Keys.ESC);
    screen = await term.waitForText(/Users 3 \u2500/);
    assert.ok(userRow(screen, 'bob'));
  });
});

test('? shows the keys; q asks before stopping; n keeps running, y asks main to stop', async () => {
  await withDashboard(async (h) => {
    h.term.type('?');
    await h.term.waitForText('show or hide this help');
    assert.match(h.term.text(), /stop the server gracefully/);
    h.term.type('x');
    await waitFor(() => !h.term.text().includes('show or hide this help'), { what: 'help closed' });

    h.term.type('q');
    await h.term.waitForText('Stop the server?');
    h.term.type('n');
    await waitFor(() => !h.term.text().includes('Stop the server?'), { what: 'confirmation closed' });
    assert.equal(h.quits, 0);

    h.term.type(Keys.CTRL_C);
    await h.term.waitForText('Stop the server?');
    h.term.type('y');
    await h.term.waitForText('Telling clients, saving state');
    assert.equal(h.quits, 1);
    h.term.type('q');
    assert.equal(h.dashboard.mode, 'stopping', 'keys are ignored while stopping');
  });
});

test('a small terminal gets a clear message, and the panes come back when it grows', async () => {
  await withDashboard(async ({ term }) => {
    term.resize(60, 20);
    await term.waitForText(/Terminal too small for the dashboard\s+60x20 here, needs at least 80x24/);
    // Tiny: the size and what is needed still read whole, one short line each.
    term.resize(20, 6);
    await term.waitForText(/Too small: 20x6\s+needs 80x24\./);
    term.resize(100, 30);
    const screen = await term.waitForText(/Users 0/);
    assert.doesNotMatch(screen, /too small/);
    assert.match(screen, /Last 10 minutes/);
  });
});

test('Tab moves the focus between panes and PgDn scrolls the focused one', async () => {
  await withDashboard(
    async ({ server, term }) => {
      for (let i = 0; i < 30; i++) {
        const client = await server.client();
        await client.register(`user${String(i).padStart(2, '0')}`, 'a good password');
        await client.close();
      }
      await term.waitForText('Users 30');
      const focused = paneBorderColor(term, 'Users');
      const unfocused = paneBorderColor(term, 'Events');
      assert.notEqual(focused, unfocused, 'the focused pane stands out');
      // The users pane has the focus first; a page down brings other rows into view.
      const visible = (screen: string) => new Set(screen.match(/user\d\d(?= +\d{4}-)/g));
      const before = visible(term.text());
      assert.ok(before.size > 0 && before.size < 30, `a window of the 30 users (${before.size})`);
      term.type(Keys.PAGE_DOWN);
      await waitFor(() => [...visible(term.text())].some((u) => !before.has(u)), { what: 'new rows after PgDn' });
      term.type(Keys.PAGE_UP);
      await waitFor(() => [...visible(term.text())].every((u) => before.has(u)), {
        what: 'the first rows again after PgUp',
      });

      term.type(Keys.TAB);
      term.type(Keys.TAB);
      await waitFor(() => paneBorderColor(term, 'Events') === focused, { what: 'events pane focused after two Tabs' });
      assert.equal(paneBorderColor(term, 'Users'), unfocused);
      term.type(Keys.SHIFT_TAB);
      await waitFor(() => paneBorderColor(term, 'Pending broadcasts') === focused, { what: 'Shift-Tab goes back' });
    },
    { rows: 30 },
  );
});

test('peer requests and their outcome show in the event log', async () => {
  await withDashboard(
    async ({ server, term }) => {
      const alice = await server.client();
      await alice.register('alice', 'alices password');
      const bob = await server.client();
      bob.peerPort = 40_000; // advertised only: the server introduces, it never dials
      const prompts: string[] = [];
      bob.on('message', (m) => {
        if (m.t === 'connect_prompt') prompts.push(m.reqId);
      });
      await bob.register('bob', 'bobs password');
      assert.equal((await alice.request({ t: 'connect', user: 'bob' })).t, 'connect_pending');
      await term.waitForText('peer request alice (127.0.0.1) -> bob (127.0.0.1)');
      const reqId = await waitFor(() => prompts[0], { what: "bob's prompt" });
      await bob.request({ t: 'connect_answer', reqId, accept: false });
      await term.waitForText('peer request alice -> bob: declined');
      assert.doesNotMatch(term.text(), new RegExp(reqId), 'never the request id');
    },
    { cols: 160 },
  );
});

test('at 80x24 (the minimum) the tables keep their headers on one row, the footer its three lines, and ? shows the whole fingerprint', async () => {
  await withDashboard(
    async ({ server, term }) => {
      const alice = await server.client();
      await alice.register('alice', 'correct horse');
      const text = await term.waitForText(/alice .*online/);
      const rows = text.split('\n');
      assert.ok(
        rows.some((r) => /User +Created +Seen +IP +TCP +UDP/.test(r)),
        'users header on one row',
      );
      assert.ok(
        rows.some((r) => /ID +From +Left +Acked +Text/.test(r)),
        'broadcasts header on one row',
      );
      assert.ok(
        rows.some((r) => /^ Listening /.test(r)),
        'address line',
      );
      assert.ok(
        rows.some((r) => /^ TLS SHA-256 [0-9A-F:]+…[0-9A-F:]+ +\(whole: \?\)/.test(r)),
        'a short fingerprint, and where the whole one is',
      );
      assert.ok(
        rows.some((r) => /^ Up .*rss .*\? help/.test(r)),
        'health line',
      );
      const fingerprint = server.app.identity.fingerprint;
      term.type('?');
      const help = await term.waitForText('give it to your users');
      assert.ok(
        help.includes(fingerprint.slice(0, 47)) && help.includes(fingerprint.slice(48)),
        'both halves of the fingerprint',
      );
    },
    { cols: 80, rows: 24 },
  );
});

test('connections pane counts relayed chats; the event log names the relay, never its bytes', async () => {
  await withDashboard(
    async ({ server, term }) => {
      await term.waitForText('relayed 0');
      const alice = await joinAs(server, 'alice');
      const bob = await joinAs(server, 'bob');
      const { ab, ba } = await relayPair(server, alice, bob);
      await term.waitForText('relayed 1');
      await term.waitForText(/relaying alice \(127\.0\.0\.1\) <-> bob \(127\.0\.0\.1\), 1 relayed/);
      ba.resume();
      ab.end('secret relayed bytes');
      await term.waitForText('relayed 0');
      const screen = await term.waitForText(/relay alice <-> bob ended after \d+ s, 20 B \/ 0 B/);
      assert.doesNotMatch(screen, /secret relayed bytes/);
    },
    { cols: 160 },
  );
});
