/**
 * The PresenceDirectory contract (src/server/presence.ts): who is online, replacement of a
 * user's session, the list in join order, and what goes out to online sessions (the whole
 * list with `reset`, batched changes). Every implementation runs this suite: the in-memory
 * Presence today, a shared one for a cluster later. Sessions are real ClientSessions over
 * in-memory streams (test/helpers/online-session.ts).
 */
import assert from 'node:assert/strict';
import { describe, test, type TestContext } from 'node:test';
import type { UserEntry } from '../../src/net/messages.ts';
import type { PresenceDirectory } from '../../src/server/presence.ts';
import { SessionProbe } from '../helpers/online-session.ts';
import { waitFor } from '../helpers/wait.ts';
import { nth } from '../helpers/assert.ts';
import { defer } from '../helpers/cleanup.ts';

export interface PresenceFixtureOptions {
  /** Output queued above which a session is sent no deltas (it catches up later). */
  backlogBytes: number;
}

/** A new, empty directory whose own flush timer does not fire during a test (the suite calls flush()). */
export type PresenceFactory = (options: PresenceFixtureOptions) => PresenceDirectory;

const DEFAULT_BACKLOG = 64 * 1024;

/** The list a client builds from the presence messages it got (PROTOCOL.md 4.5). */
function listOf(probe: SessionProbe): Map<string, string> {
  const list = new Map<string, string>();
  for (const m of probe.presence()) {
    if (m.reset) list.clear();
    for (const name of m.left) list.delete(name);
    for (const u of m.joined) list.set(u.user, u.ip);
  }
  return list;
}

const asMap = (entries: readonly UserEntry[]) => new Map(entries.map((e) => [e.user, e.ip]));

export function presenceContract(name: string, make: PresenceFactory): void {
  describe(`PresenceDirectory contract: ${name}`, () => {
    /** A directory and a maker of online sessions; the directory stops, then the sessions go, when the test ends. */
    function presenceFixture(
      t: TestContext,
      backlogBytes = DEFAULT_BACKLOG,
    ): { p: PresenceDirectory; online: (user: string, ip: string) => SessionProbe } {
      const presence = make({ backlogBytes });
      const probes: SessionProbe[] = [];
      const online = (user: string, ip: string) => {
        const probe = new SessionProbe(user, ip);
        probes.push(probe);
        return probe;
      };
      defer(t, () => {
        for (const probe of probes) probe.destroy();
      });
      defer(t, () => presence.stop());
      return { p: presence, online };
    }

    test('add, get (ignoring case), size, sessions', (t) => {
      const { p, online } = presenceFixture(t);
      assert.equal(p.size, 0);
      const alice = online('Alice', '127.0.0.2').session;
      const bob = online('bob', '127.0.0.3').session;
      assert.equal(p.add(alice), undefined);
      assert.equal(p.add(bob), undefined);
      assert.equal(p.size, 2);
      assert.equal(p.get('alice'), alice);
      assert.equal(p.get('ALICE'), alice);
      assert.equal(p.get('BOB'), bob);
      assert.equal(p.get('carol'), undefined);
      assert.deepEqual(new Set(p.sessions()), new Set([alice, bob]));
    });

    test('the list is in join order with the name as registered and the address', (t) => {
      const { p, online } = presenceFixture(t);
      const a = online('Alice', '127.0.0.2').session;
      const b = online('bob', '127.0.0.3').session;
      const c = online('carol', '127.0.0.4').session;
      for (const s of [a, b, c]) p.add(s);
      assert.deepEqual(p.list(), [
        { user: 'Alice', ip: '127.0.0.2' },
        { user: 'bob', ip: '127.0.0.3' },
        { user: 'carol', ip: '127.0.0.4' },
      ]);
      assert.equal(p.remove(b), true);
      p.add(online('bob', '127.0.0.5').session);
      assert.deepEqual(
        p.list().map((e) => e.user),
        ['Alice', 'carol', 'bob'],
        'a rejoin goes to the end',
      );
      assert.equal(p.size, 3);
    });

    test('away (section 4.7): in the list and sent as a changed entry; cleared by back, a new login and a removal', async (t) => {
      const { p, online } = presenceFixture(t);
      const alice = online('alice', '127.0.0.2').session;
      const watcher = online('bob', '127.0.0.3');
      p.add(alice);
      p.add(watcher.session);
      p.flush();
      assert.equal(p.setAway(alice, 'lunch'), true);
      assert.deepEqual(p.list()[0], { user: 'alice', ip: '127.0.0.2', away: 'lunch' });
      p.flush();
      const sent = () => watcher.presence().flatMap((m) => m.joined.filter((e) => e.user === 'alice'));
      await waitFor(() => sent().at(-1)?.away === 'lunch', { what: 'the away entry sent' });
      assert.equal(p.setAway(alice, null), true);
      assert.deepEqual(p.list()[0], { user: 'alice', ip: '127.0.0.2' });
      p.flush();
      await waitFor(() => sent().length >= 3, { what: 'the entry sent again' });
      assert.deepEqual(sent().at(-1), { user: 'alice', ip: '127.0.0.2' });
      // A session that is not the user's current one changes nothing.
      const stale = online('alice', '127.0.0.4').session;
      assert.equal(p.setAway(stale, 'x'), false);
      p.setAway(alice, 'again');
      p.add(stale);
      assert.deepEqual(
        p.list().find((e) => e.user === 'alice'),
        { user: 'alice', ip: '127.0.0.4' },
        'a new login starts available',
      );
      p.setAway(stale, 'once more');
      p.remove(stale);
      p.add(alice);
      assert.deepEqual(
        p.list().find((e) => e.user === 'alice'),
        { user: 'alice', ip: '127.0.0.2' },
        'gone with the session',
      );
    });

    test('a second login replaces the first: one entry, the new session, the old one returned', (t) => {
      const { p, online } = presenceFixture(t);
      const first = online('dave', '127.0.0.2').session;
      const second = online('Dave', '127.0.0.3').session;
      p.add(first);
      assert.equal(p.add(second), first);
      assert.equal(p.size, 1);
      assert.equal(p.get('dave'), second);
      assert.deepEqual(p.list(), [{ user: 'Dave', ip: '127.0.0.3' }]);
      assert.equal(p.remove(first), false, 'the replaced session closing does not take the user offline');
      assert.equal(p.get('dave'), second);
      assert.equal(p.remove(second), true);
      assert.equal(p.remove(second), false, 'removing twice is a no-op');
      assert.equal(p.size, 0);
      assert.deepEqual(p.list(), []);
    });

    test('sendList gives a session the whole list, starting with reset', async (t) => {
      const { p, online } = presenceFixture(t);
      const probes = ['erin', 'frank', 'gina'].map((u, i) => online(u, `127.0.0.${i + 2}`));
      for (const probe of probes) p.add(probe.session);
      const newcomer = nth(probes, 2, 'probe');
      p.sendList(newcomer.session);
      await waitFor(() => listOf(newcomer).size === 3, { what: 'the list arrives' });
      assert.equal(newcomer.presence()[0]?.reset, true);
      assert.deepEqual(listOf(newcomer), asMap(p.list()));
    });

    test('flush sends every online session the changes, latest per user', async (t) => {
      const { p, online } = presenceFixture(t);
      const hank = online('hank', '127.0.0.2');
      const ivy = online('ivy', '127.0.0.3');
      p.add(hank.session);
      p.add(ivy.session);
      p.flush();
      await waitFor(() => listOf(hank).size === 2 && listOf(ivy).size === 2, { what: 'both see both' });
      const before = hank.presence().length;
      const jack = online('jack', '127.0.0.4');
      p.add(jack.session);
      p.remove(jack.session); // joined and left within one flush: only the leave is news
      p.remove(ivy.session);
      p.flush();
      await waitFor(() => hank.presence().length > before, { what: 'a batch after the changes' });
      const batch = hank.presence().slice(before);
      assert.equal(batch.length, 1, 'one batch for all changes');
      assert.deepEqual(batch[0]?.joined, []);
      assert.deepEqual(new Set(batch[0]?.left), new Set(['jack', 'ivy']));
      assert.deepEqual(listOf(hank), asMap(p.list()));
      assert.equal(ivy.presence().length, 1, 'a session that left gets no more');
    });

    test('a backed-up session gets no deltas until it catches up, then what it missed', async (t) => {
      const { p, online } = presenceFixture(t, 1);
      const kim = online('kim', '127.0.0.2');
      p.add(kim.session);
      p.flush();
      await waitFor(() => listOf(kim).size === 1, { what: 'kim sees herself' });
      kim.hold();
      kim.session.sendFrame(Buffer.alloc(64)); // output queued: over the 1-byte threshold
      const received = kim.presence().length;
      p.add(online('luke', '127.0.0.3').session);
      p.flush();
      kim.release();
      await waitFor(() => kim.session.conn.pendingOutputBytes === 0, { what: 'kim drains' });
      assert.equal(kim.presence().length, received, 'nothing was queued for kim while backed up');
      p.catchUp(kim.session);
      await waitFor(() => listOf(kim).size === 2, { what: 'kim catches up' });
      assert.deepEqual(listOf(kim), asMap(p.list()));
    });
  });
}
