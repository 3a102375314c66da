/** Each pane of the main screen drawn alone into a headless terminal and read back. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LineEditor } from '../../../src/client/tui/line-editor.ts';
import { Delivery } from '../../../src/client/tui/sources.ts';
import { LineKind, TabsModel } from '../../../src/client/tui/tabs.ts';
import { InputLine } from '../../../src/client/tui/views/input-line.ts';
import { MessagesPane } from '../../../src/client/tui/views/messages-pane.ts';
import { ClientState, UdpState } from '../../../src/client/client.ts';
import { LinkState, StatusBar, tcpState, udpState } from '../../../src/client/tui/views/status-bar.ts';
import { TabBar } from '../../../src/client/tui/views/tab-bar.ts';
import { UsersPane } from '../../../src/client/tui/views/users-pane.ts';
import { withScreen } from '../../helpers/terminal.ts';
import { PlainSession } from '../../helpers/plain-session.ts';
import { nth } from '../../helpers/assert.ts';

const SIZE = { cols: 100, rows: 30 };

test('users pane: names, IPs, marks for a chat tab, a pending request and unread lines', async () => {
  await withScreen(SIZE, async (screen, vt) => {
    const pane = new UsersPane(screen);
    pane.setRows([
      { user: 'alice', ip: '127.0.0.1', self: true, hasTab: false, pending: false, unread: 0 },
      { user: 'bob', ip: '192.0.2.7', self: false, hasTab: true, pending: false, unread: 3 },
      { user: 'carol', ip: '2001:db8::1', self: false, hasTab: false, pending: true, unread: 0 },
      { user: 'dave😀', ip: '10.0.0.1', self: false, hasTab: false, pending: false, unread: 120 },
    ]);
    pane.setFocused(true);
    pane.move(1);
    screen.render();
    const text = await vt.waitForText('Users (4)');
    assert.match(text, /alice\*\s+127\.0\.0\.1/);
    assert.match(text, /● {2}3 bob\s+192\.0\.2\.7/);
    assert.match(text, /\? {4}carol\s+2001:db8::1/);
    assert.match(text, /99\+ dave😀\s+10\.0\.0\.1/);
    assert.equal(pane.selectedUser?.user, 'bob');
    // Every row keeps the right border in place, emoji included.
    for (let y = 1; y <= 4; y++) assert.equal(vt.cells(y)[33]?.chars, '│', vt.line(y));
  });
});

test('tab bar: numbers, a new chat marked until visited, unread badges, ended sessions', async () => {
  await withScreen(SIZE, async (screen, vt) => {
    const model = new TabsModel();
    const bob = model.addSession(new PlainSession());
    model.append(bob, { kind: LineKind.PEER, at: 0, from: 'bob', text: 'hi' });
    model.append(model.inbox, { kind: LineKind.BROADCAST, at: 0, from: 'x', text: 'news' });
    const bar = new TabBar(screen);
    bar.update(model.tabs, model.index);
    screen.render();
    await vt.waitForText('2 bob new (1)');
    assert.equal(model.nextWithActivity(), bob);
    model.selectTab(bob);
    model.select(0);
    model.append(bob, { kind: LineKind.PEER, at: 0, from: 'bob', text: 'again' });
    bar.update(model.tabs, model.index);
    screen.render();
    await vt.waitForText('2 bob (1)');
    bob.ended = 'closed';
    bar.update(model.tabs, model.index);
    screen.render();
    await vt.waitForText('2 bob ended (1)');
  });
});

test('tab bar: when the tabs do not fit, the current one is shown with counts of the hidden ones', async () => {
  await withScreen({ cols: 80, rows: 24 }, async (screen, vt) => {
    const model = new TabsModel();
    for (let i = 0; i < 8; i++)
      model.addSession(Object.assign(new PlainSession(), { peer: { user: `peer-number-${i}`, ip: '192.0.2.7' } }));
    model.select(6);
    model.append(nth(model.tabs, 1, 'tab'), { kind: LineKind.PEER, at: 0, from: 'x', text: 'unread' });
    const bar = new TabBar(screen);
    bar.update(model.tabs, model.index);
    screen.render();
    const text = await vt.waitForText('7 peer-number-5');
    const row = text.split('\n').find((l) => l.includes('7 peer-number-5')) ?? '';
    assert.match(row, /‹\d+ {2}\d+ peer/, 'hidden tabs on the left are counted');
    assert.match(row, / \d+›\s*$/, 'hidden tabs on the right are counted');
    assert.doesNotMatch(row, /1 Broadcasts/);
  });
});

test('messages pane: sender, time, delivery state, verification code; peer text cannot inject markup', async () => {
  await withScreen(SIZE, async (screen, vt) => {
    const model = new TabsModel();
    const tab = model.addSession(new PlainSession());
    const at = new Date(2024, 0, 1, 9, 5).getTime();
    model.append(tab, { kind: LineKind.OWN, at, from: 'alice', text: 'hello bob', id: '1', delivery: Delivery.SENT });
    model.append(tab, { kind: LineKind.OWN, at, from: 'alice', text: 'second', id: '2', delivery: Delivery.DELIVERED });
    // Escape sequences never get this far (the client core strips them on receipt: chat-flows.test.ts); markup does.
    model.append(tab, { kind: LineKind.PEER, at, from: 'bob', text: '{red-fg}red?{/red-fg} plain' });
    const pane = new MessagesPane(screen);
    pane.update(tab, false);
    screen.render();
    const text = await vt.waitForText('second');
    assert.match(text, /bob 192\.0\.2\.7 · code 4821-0937/);
    assert.match(text, /09:05 alice: hello bob {2}✓ sent/);
    assert.match(text, /09:05 alice: second {2}✓✓ delivered/);
    assert.match(text, /09:05 bob: {red-fg}red\?{\/red-fg} plain/);
  });
});

test('messages pane: only the visible lines are drawn, newest at the bottom, PgUp moves back', async () => {
  await withScreen(SIZE, async (screen, vt) => {
    const model = new TabsModel();
    for (let i = 0; i < 10_000; i++)
      model.append(model.inbox, { kind: LineKind.BROADCAST, at: 0, from: 'x', text: `line ${i}` });
    const pane = new MessagesPane(screen);
    pane.update(model.inbox, false);
    screen.render();
    await vt.waitForText('line 9999');
    assert.ok((pane.box.getContent().match(/line /g) ?? []).length <= pane.rows);
    model.setScroll(model.inbox, pane.scrolled(model.inbox, 100));
    pane.update(model.inbox, false);
    screen.render();
    const text = await vt.waitForText('line 9899');
    assert.doesNotMatch(text, /line 9999/);
    assert.match(text, /100 newer below/);
  });
});

test('messages pane: a short tab after a long wrapped one shows its lines (not a blank pane)', async () => {
  await withScreen(SIZE, async (screen, vt) => {
    const model = new TabsModel();
    const chat = model.addSession(new PlainSession());
    const words = Array.from({ length: 500 }, (_, i) => `word${String(i).padStart(3, '0')}`).join(' ');
    for (let i = 0; i < 36; i++)
      model.append(chat, { kind: LineKind.PEER, at: 0, from: 'bob', text: `line ${i}: ${'x'.repeat(100)}` });
    model.append(chat, { kind: LineKind.PEER, at: 0, from: 'bob', text: words });
    for (const text of ['first broadcast', 'second broadcast', 'third broadcast'])
      model.append(model.inbox, { kind: LineKind.BROADCAST, at: 0, from: 'carol', text });
    const pane = new MessagesPane(screen);
    pane.update(chat, false);
    screen.render();
    await vt.waitForText('word499');
    pane.update(model.inbox, false);
    screen.render();
    const text = await vt.waitForText('third broadcast');
    assert.match(text, /first broadcast/);
    assert.doesNotMatch(text, /word499/);
  });
});

test('messages pane: a row with emoji filled to the edge keeps its last character', async () => {
  await withScreen(SIZE, async (screen, vt) => {
    const model = new TabsModel();
    const chat = model.addSession(new PlainSession());
    const pane = new MessagesPane(screen);
    // Fill the first row to the border whatever the pane's width: the row's last letter is Z.
    const head = '00:00 bob: 👍 ';
    const inner = (pane.box.width as number) - 2;
    for (const filler of [inner - head.length - 2, inner - head.length - 1, inner - head.length]) {
      model.append(chat, {
        kind: LineKind.PEER,
        at: new Date(2026, 0, 1, 0, 0).getTime(),
        from: 'bob',
        text: `👍 ${'x'.repeat(filler)}Z next`,
      });
    }
    pane.update(chat, false);
    screen.render();
    const text = await vt.waitForText('next');
    assert.equal((text.match(/x+Z/g) ?? []).length, 3, 'every Z is on screen, none clipped at the border');
  });
});

test('messages pane: scrolling by rows reaches every row of a message longer than the pane', async () => {
  await withScreen(SIZE, async (screen, vt) => {
    const model = new TabsModel();
    const chat = model.addSession(new PlainSession());
    model.append(chat, { kind: LineKind.PEER, at: 0, from: 'bob', text: 'before' });
    const words = Array.from({ length: 500 }, (_, i) => `word${String(i).padStart(3, '0')}`);
    model.append(chat, { kind: LineKind.PEER, at: 0, from: 'bob', text: words.join(' ') });
    const pane = new MessagesPane(screen);
    const seen = new Set<string>();
    const look = () => {
      pane.update(chat, false);
      for (const w of pane.box.getContent().match(/word\d{3}|before/g) ?? []) seen.add(w);
    };
    look();
    // Page up to the top: it stops there, with the first words and the line before on screen.
    for (let i = 0; i < 100 && !seen.has('before'); i++) {
      model.setScroll(chat, pane.scrolled(chat, pane.rows - 2));
      look();
    }
    const top = chat.scroll;
    model.setScroll(chat, pane.scrolled(chat, 5));
    assert.deepEqual(chat.scroll, top, 'no scrolling past the top');
    assert.deepEqual(
      [...words, 'before'].filter((w) => !seen.has(w)),
      [],
      'every word was on screen at some page',
    );
    screen.render();
    const text = await vt.waitForText('word000');
    assert.match(text, /newer below: PgDn/);
    // And back down to following.
    for (let i = 0; i < 100 && chat.scroll.lines + chat.scroll.rows > 0; i++)
      model.setScroll(chat, pane.scrolled(chat, -(pane.rows - 2)));
    pane.update(chat, false);
    assert.doesNotMatch(pane.box.getContent(), /newer below/);
    assert.match(pane.box.getContent(), /word499/);
  });
});

test('input line: target, typed text with the cursor, long text scrolls', async () => {
  await withScreen(SIZE, async (screen, vt) => {
    const input = new InputLine(screen);
    const editor = new LineEditor('hi bob 👋');
    input.update(editor, 'Message to bob', true);
    screen.render();
    await vt.waitForText('Message to bob');
    await vt.waitForText('> hi bob 👋');
    editor.set('x'.repeat(300) + 'END');
    input.update(editor, 'Message to bob', true);
    screen.render();
    await vt.waitForText('xxxEND');
  });
});

test('status bar: user, server, TCP and UDP state, fingerprint, chats, note', async () => {
  await withScreen(SIZE, async (screen, vt) => {
    const bar = new StatusBar(screen);
    const fp = Array.from({ length: 32 }, (_, i) => i.toString(16).toUpperCase().padStart(2, '0')).join(':');
    bar.update({
      user: 'alice',
      server: '127.0.0.1:4400',
      tcp: LinkState.RECONNECTING,
      udp: LinkState.DOWN,
      fingerprint: fp,
      sessions: 2,
      note: 'server lost, retry in 2 s',
    });
    screen.render();
    const text = await vt.waitForText('alice @ 127.0.0.1:4400');
    // What does not fit the width (here the fingerprint) is dropped, never wrapped.
    assert.match(text, /TCP reconnecting │ UDP down │ server lost, retry in 2 s │ 2 chats\s*$/m);
    bar.update({
      user: 'alice',
      server: '127.0.0.1:4400',
      tcp: LinkState.CONNECTED,
      udp: LinkState.CONNECTED,
      fingerprint: fp,
      sessions: 1,
      note: '',
    });
    screen.render();
    await vt.waitForText(/TCP connected │ UDP connected │ 1 chat │ fp 00:01…1E:1F │ F1 help/);
  });
});

test('status bar: client states map to connected / reconnecting / down', () => {
  assert.equal(tcpState(ClientState.ONLINE), LinkState.CONNECTED);
  assert.equal(tcpState(ClientState.RECONNECTING), LinkState.RECONNECTING);
  assert.equal(tcpState(ClientState.AUTHENTICATING), LinkState.RECONNECTING);
  assert.equal(tcpState(ClientState.IDLE), LinkState.DOWN);
  assert.equal(udpState(ClientState.ONLINE, UdpState.ALIVE), LinkState.CONNECTED);
  assert.equal(udpState(ClientState.ONLINE, UdpState.CONNECTING), LinkState.RECONNECTING);
  assert.equal(udpState(ClientState.ONLINE, UdpState.DEAD), LinkState.DOWN);
  assert.equal(udpState(ClientState.RECONNECTING, UdpState.ALIVE), LinkState.DOWN);
});
