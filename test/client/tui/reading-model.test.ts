/**
 * The pure parts of reading (issue 13): the nick colour mapping, durations told exactly,
 * search over a tab, the unread mark, and chat titles fitted to any width.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NICK_PALETTE, nickColor, nickStyle, OWN_COLOR } from '../../../src/client/tui/nick-colors.ts';
import { TabSearch, matchRanges } from '../../../src/client/tui/search.ts';
import { PlainSession } from '../../helpers/plain-session.ts';
import { firstUnread, LineKind, TabsModel } from '../../../src/client/tui/tabs.ts';
import { formatDuration } from '../../../src/client/tui/text.ts';
import { paneTitle } from '../../../src/client/tui/views/messages-pane.ts';
import { textWidth } from '../../../src/term/unicode-width.ts';

test('nick colours: stable, case-blind, spread over the palette, never blue, black or grey; own name apart', () => {
  assert.equal(nickColor('bob'), nickColor('bob'));
  assert.equal(nickColor('Bob'), nickColor('bob'), 'names are matched ignoring case');
  const names = Array.from({ length: 400 }, (_, i) => `user${i}`);
  const used = new Set(names.map(nickColor));
  assert.equal(used.size, NICK_PALETTE.length, 'every colour of the palette is used');
  for (const color of NICK_PALETTE) assert.doesNotMatch(color, /blue|black|gr[ae]y|white/);
  assert.ok(!(NICK_PALETTE as readonly string[]).includes(OWN_COLOR), 'nobody else gets the own colour');
  // No colour takes much more than its share (a fair hash): 400 names over 10 colours.
  for (const color of NICK_PALETTE) assert.ok(names.filter((n) => nickColor(n) === color).length < 70, color);
  assert.deepEqual(nickStyle('bob', true), { open: '{white-fg}{bold}', close: '{/bold}{/white-fg}' });
  assert.equal(nickStyle('bob', false).open, `{${nickColor('bob')}-fg}{bold}`);
});

test('durations are told exactly in their two largest units', () => {
  assert.equal(formatDuration(45_000), '45 s');
  assert.equal(formatDuration(60_000), '1 min');
  assert.equal(formatDuration(90_000), '1 min 30 s');
  assert.equal(formatDuration(30 * 60_000), '30 min');
  assert.equal(formatDuration(2 * 3_600_000 + 5 * 60_000), '2 h 5 min');
  assert.equal(formatDuration(3_600_000 + 7_000), '1 h');
  assert.equal(formatDuration(26 * 3_600_000), '1 d 2 h');
  assert.equal(formatDuration(500), 'under 1 s');
});

test('search: case-blind matches, newest first, older and newer stop at the ends, the count follows new lines', () => {
  const model = new TabsModel();
  const tab = model.inbox;
  const add = (text: string) => model.append(tab, { kind: LineKind.BROADCAST, at: 0, from: 'x', text });
  for (const text of ['Apple one', 'pear', 'an apple', 'plum', 'APPLE three']) add(text);
  const search = new TabSearch(tab);
  assert.equal(search.summary, 'type to search');
  assert.equal(search.anchor(), null);
  search.setQuery('apple');
  assert.equal(search.summary, '1/3');
  assert.deepEqual(search.anchor(), { lines: 0, rows: 0 }, 'the newest match is the newest line');
  search.step(1);
  assert.equal(search.summary, '2/3');
  assert.deepEqual(search.anchor(), { lines: 2, rows: 0 });
  search.step(1);
  search.step(1);
  assert.equal(search.summary, '3/3', 'stops at the oldest');
  search.step(-1);
  assert.equal(search.summary, '2/3');
  // A new match arrives: the current one stays, the count grows.
  add('apple four');
  search.refresh();
  assert.equal(search.summary, '3/4');
  assert.deepEqual(search.anchor(), { lines: 3, rows: 0 });
  search.setQuery('kiwi');
  assert.equal(search.summary, 'no match');
  assert.deepEqual(matchRanges('Apple and APPLE', 'apple'), [
    [0, 5],
    [10, 15],
  ]);
  assert.deepEqual(matchRanges('anything', ''), []);
});

test('the read mark: set when a tab is left, the first line after it is unread', () => {
  const model = new TabsModel(3);
  const chat = model.addSession(new PlainSession());
  const add = (text: string) => model.append(chat, { kind: LineKind.PEER, at: 0, from: 'bob', text });
  add('one');
  assert.equal(chat.readMark, null);
  assert.equal(firstUnread(chat), -1, 'never left: no marker');
  model.selectTab(chat);
  model.select(0);
  assert.equal(firstUnread(chat), -1, 'nothing new yet');
  add('two');
  assert.equal(firstUnread(chat), 1);
  add('three');
  add('four'); // the scrollback holds 3: 'one' falls off
  assert.equal(chat.lines.at(firstUnread(chat)).text, 'two');
  add('five');
  add('six'); // 'two' has fallen off too: the marker goes to the top
  assert.equal(firstUnread(chat), 0);
});

test('chat titles fit any width; the state is kept whole, the code and address give way first', () => {
  const model = new TabsModel();
  const chat = model.addSession(
    new PlainSession('s1', { user: 'bob-with-a-long-name', ip: '2001:db8::1234:5678' }, '1234 5678 9012'),
  );
  chat.peerTyping = true;
  const full = paneTitle(chat);
  assert.match(full, /bob-with-a-long-name 2001:db8::1234:5678 · code 1234 5678 9012 · typing…/);
  for (let width = 8; width <= 120; width++) {
    const title = paneTitle(chat, width);
    assert.ok(textWidth(title) <= Math.max(3, width - 3), `width ${width}: "${title}"`);
  }
  assert.equal(paneTitle(chat, 56), ' bob-with-a-long-name 2001:db8::1234:5678 · typing… ');
  assert.equal(paneTitle(chat, 40), ' bob-with-a-long-name · typing… ');
  assert.equal(paneTitle(chat, 24), ' bob-with… · typing… ');
  chat.peerTyping = false;
  chat.ended = 'closed';
  assert.match(paneTitle(chat, 60), /· ended $/);
});
