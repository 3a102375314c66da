/** The tabs model with history: one tab per person, day separators, saved lines put above. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dayLabel, LineKind, Scrollback, TabsModel, type Tab } from '../../../src/client/tui/tabs.ts';
import { PlainSession } from '../../helpers/plain-session.ts';

// Local times, as the separators are local days.
const SAT = new Date(2026, 11, 5, 23, 50).getTime();
const SUN = new Date(2026, 11, 6, 0, 10).getTime();
const texts = (tab: Tab) =>
  tab.lines.slice(0, tab.lines.length).map((l) => (l.kind === LineKind.MARKER ? `[${l.text}]` : l.text));
const peerLine = (text: string, at: number) => ({ kind: LineKind.PEER, at, from: 'carol', text });

test('days are written as "Sat 5 Dec 2026"', () => {
  assert.equal(dayLabel(SAT), 'Sat 5 Dec 2026');
  assert.equal(dayLabel(SUN), 'Sun 6 Dec 2026');
});

test('a new chat with someone whose chat ended goes on in their tab, below a "new since" marker', () => {
  let now = SAT;
  const model = new TabsModel(100, () => now);
  const reused: boolean[] = [];
  model.on('opened', (_tab, _s, again) => reused.push(again));
  const first = new PlainSession('carol');
  const tab = model.addSession(first);
  first.emit('message', { id: 'p1', own: false, from: 'carol', text: 'before', at: SAT });
  first.emit('closed', 'carol closed it');
  assert.equal(tab.ended, 'carol closed it');

  now = SAT + 60_000;
  const second = new PlainSession('s2', { user: 'Carol', ip: '10.0.0.1' });
  assert.equal(model.addSession(second), tab, 'the same tab, whatever the spelling of the name');
  assert.equal(model.tabs.length, 2);
  assert.deepEqual(reused, [false, true]);
  assert.equal(tab.session, second);
  assert.equal(tab.ended, null);
  assert.equal(first.listenerCount('message'), 0, 'the old session is no longer followed');
  second.emit('message', { id: 'p1', own: false, from: 'carol', text: 'after', at: now });
  assert.deepEqual(texts(tab), ['before', '[new since 23:51]', 'after']);
  assert.equal(model.tabForUser('carol'), tab);
});

test('an open chat is not taken over: a second session at once gets its own tab', () => {
  const model = new TabsModel();
  const a = model.addSession(new PlainSession('carol'));
  const b = model.addSession(new PlainSession('s2', { user: 'carol', ip: '10.0.0.1' }));
  assert.notEqual(a, b);
});

test('a day separator goes between lines of different days', () => {
  const model = new TabsModel();
  model.append(model.inbox, { ...peerLine('late', SAT), kind: LineKind.BROADCAST });
  model.append(model.inbox, { ...peerLine('early', SUN), kind: LineKind.BROADCAST });
  assert.deepEqual(texts(model.inbox), ['late', '[Sun 6 Dec 2026]', 'early']);
});

test('saved lines go above, with days and a "new since" marker; older pages join without a second separator', () => {
  const model = new TabsModel(100);
  const tab = model.addSession(new PlainSession('carol'));
  model.append(tab, peerLine('live', SUN + 1000));
  model.addSaved(tab, [peerLine('s1', SAT), peerLine('s2', SUN)], 40, SUN + 500);
  assert.deepEqual(texts(tab), ['[Sat 5 Dec 2026]', 's1', '[Sun 6 Dec 2026]', 's2', '[new since 00:10]', 'live']);
  assert.equal(tab.savedBefore, 40);
  model.addSaved(tab, [peerLine('s0', SAT - 1000)], 39);
  assert.deepEqual(texts(tab).slice(0, 3), ['[Sat 5 Dec 2026]', 's0', 's1']);
  assert.equal(tab.savedBefore, 39);
});

test('saved lines fill a tab only up to its limit, newest kept', () => {
  const s = new Scrollback(4);
  s.push(peerLine('live', SAT));
  assert.equal(s.prepend([1, 2, 3, 4, 5].map((i) => peerLine(`s${i}`, SAT))), 3);
  assert.deepEqual(
    s.slice(0, 4).map((l) => l.text),
    ['s3', 's4', 's5', 'live'],
  );
  assert.equal(s.prepend([peerLine('more', SAT)]), 0, 'full: nothing more goes in');
  const model = new TabsModel(4);
  const tab = model.addSession(new PlainSession('carol'));
  model.addSaved(
    tab,
    [1, 2, 3, 4, 5].map((i) => peerLine(`s${i}`, SAT)),
    10,
    SAT,
  );
  assert.equal(tab.savedBefore, 0, 'no paging past the limit');
  assert.equal(tab.lines.length, 4);
});
