import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FOLLOWING, LineKind, Scrollback, TabsModel } from '../../../src/client/tui/tabs.ts';
import { PlainSession } from '../../helpers/plain-session.ts';

const line = (text: string, kind: LineKind = LineKind.PEER) => ({ kind, at: 0, from: 'x', text });

test('scrollback keeps the newest lines up to its limit, and ids of kept lines only', () => {
  const s = new Scrollback(3);
  for (let i = 0; i < 5; i++) s.push({ ...line(`m${i}`, LineKind.OWN), id: String(i), delivery: 'sent' });
  assert.equal(s.length, 3);
  assert.deepEqual(
    s.slice(0, 3).map((l) => l.text),
    ['m2', 'm3', 'm4'],
  );
  assert.equal(s.get('1'), undefined);
  assert.equal(s.get('4')?.text, 'm4');
});

test('unread counts and one bell per tab that gets news', () => {
  const model = new TabsModel();
  let bells = 0;
  model.on('bell', () => bells++);
  const bob = model.addSession(new PlainSession('bob'));
  model.append(bob, line('hi'));
  model.append(bob, line('again'));
  model.append(bob, line('note', LineKind.SYSTEM));
  assert.equal(bob.unread, 2);
  assert.equal(bells, 1);
  model.selectTab(bob);
  assert.equal(bob.unread, 0);
  model.append(model.inbox, line('broadcast', LineKind.BROADCAST));
  assert.equal(model.inbox.unread, 1);
  assert.equal(bells, 2);
});

test('tab navigation wraps, the inbox cannot be removed', () => {
  const model = new TabsModel();
  const a = model.addSession(new PlainSession('a'));
  model.addSession(new PlainSession('b'));
  model.next();
  assert.equal(model.current, a);
  model.previous();
  model.previous();
  assert.equal(model.index, 2);
  model.remove(model.inbox);
  assert.equal(model.tabs.length, 3);
  model.remove(model.current);
  assert.equal(model.tabs.length, 2);
  assert.equal(model.current, a);
  assert.equal(model.openSessions, 1);
  assert.equal(model.tabForUser('A'), a);
});

test('scrolling stays put while new lines arrive', () => {
  const model = new TabsModel();
  for (let i = 0; i < 50; i++) model.append(model.inbox, line(`m${i}`));
  model.setScroll(model.inbox, { lines: 10, rows: 2 });
  model.append(model.inbox, line('new'));
  assert.deepEqual(model.inbox.scroll, { lines: 11, rows: 2 });
  model.setScroll(model.inbox, FOLLOWING);
  model.append(model.inbox, line('newer'));
  assert.deepEqual(model.inbox.scroll, FOLLOWING);
});

test('a chat tab follows its session: messages, delivery, typing and the end, each announced by changed', () => {
  const model = new TabsModel();
  const session = new PlainSession('bob');
  const seen: string[] = [];
  model.on('opened', (tab) => seen.push(`opened ${tab.title} with ${tab.lines.length} lines`));
  model.on('ended', (tab) => seen.push(`ended: ${tab.ended}`));
  let changes = 0;
  model.on('changed', () => changes++);
  const tab = model.addSession(session);
  model.selectTab(tab);
  assert.deepEqual(seen, ['opened bob with 0 lines']);

  changes = 0;
  session.emit('message', { id: 'o1', own: true, from: 'me', text: 'hello', at: 5, delivery: 'sent' });
  session.emit('message', { id: 'p1', own: false, from: 'bob', text: 'hi', at: 6 });
  assert.deepEqual(
    tab.lines.slice(0, 2).map((l) => [l.kind, l.text, l.delivery]),
    [
      [LineKind.OWN, 'hello', 'sent'],
      [LineKind.PEER, 'hi', undefined],
    ],
  );
  session.emit('delivery', 'o1', 'delivered');
  assert.equal(tab.lines.get('o1')?.delivery, 'delivered');
  session.emit('typing', true);
  assert.equal(tab.peerTyping, true);
  assert.equal(changes, 4);

  session.emit('closed', 'bob closed it');
  assert.equal(tab.ended, 'bob closed it');
  assert.equal(tab.peerTyping, false, 'an ended chat shows nobody typing');
  assert.equal(model.openSessions, 0);
  assert.deepEqual(seen, ['opened bob with 0 lines', 'ended: bob closed it']);
  assert.equal(changes, 5);
});

test('a session already closed when attached shows ended; a removed tab stops listening', () => {
  const model = new TabsModel();
  const closed = new PlainSession('carol');
  closed.isOpen = false;
  assert.equal(model.addSession(closed).ended, 'closed');

  const session = new PlainSession('dave');
  const tab = model.addSession(session);
  assert.equal(session.listenerCount('message'), 1);
  model.remove(tab);
  for (const event of ['message', 'delivery', 'typing', 'closed'] as const)
    assert.equal(session.listenerCount(event), 0, event);
  model.dispose();
  assert.equal(closed.listenerCount('closed'), 0);
});
