/** Each pane of the main screen drawn alone into a headless terminal and read back. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EventEmitter } from 'eventemitter3';
import { LineEditor } from '../../../src/client/tui/line-editor.ts';
import { Delivery, type ChatSessionEvents, type ChatSessionView } from '../../../src/client/tui/sources.ts';
import { LineKind, TabsModel } from '../../../src/client/tui/tabs.ts';
import { InputLine } from '../../../src/client/tui/views/input-line.ts';
import { MessagesPane } from '../../../src/client/tui/views/messages-pane.ts';
import { ClientState, UdpState } from '../../../src/client/client.ts';
import { LinkState, StatusBar, tcpState, udpState } from '../../../src/client/tui/views/status-bar.ts';
import { TabBar } from '../../../src/client/tui/views/tab-bar.ts';
import { UsersPane } from '../../../src/client/tui/views/users-pane.ts';
import { withScreen } from '../../helpers/terminal.ts';

const SIZE = { cols: 100, rows: 30 };

class PlainSession extends EventEmitter<ChatSessionEvents> implements ChatSessionView {
  readonly id = 's1';
  readonly peer = { user: 'bob', ip: '192.0.2.7' };
  readonly verificationCode = '4821-0937';
  readonly isOpen = true;
  history() {
    return [];
  }
  send() {}
  close() {}
}

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
    assert.match(text, /●  3 bob\s+192\.0\.2\.7/);
    assert.match(text, /\?    carol\s+2001:db8::1/);
    assert.match(text, /99\+ dave😀\s+10\.0\.0\.1/);
    assert.equal(pane.selectedUser?.user, 'bob');
    // Every row keeps the right border in place, emoji included.
    for (let y = 1; y <= 4; y++) assert.equal(vt.cells(y)[33].chars, '│', vt.line(y));
  });
});

test('tab bar: numbers, unread badges, ended sessions', async () => {
  await withScreen(SIZE, async (screen, vt) => {
    const model = new TabsModel();
    const bob = model.addSession(new PlainSession());
    model.append(bob, { kind: LineKind.PEER, at: 0, from: 'bob', text: 'hi' });
    model.append(model.inbox, { kind: LineKind.BROADCAST, at: 0, from: 'x', text: 'news' });
    const bar = new TabBar(screen);
    bar.update(model.tabs, model.index);
    screen.render();
    await vt.waitForText('2 bob (1)');
    bob.ended = 'closed';
    bar.update(model.tabs, model.index);
    screen.render();
    await vt.waitForText('2 bob ended (1)');
  });
});

test('messages pane: sender, time, delivery state, verification code; peer text cannot drive the terminal', async () => {
  await withScreen(SIZE, async (screen, vt) => {
    const model = new TabsModel();
    const tab = model.addSession(new PlainSession());
    const at = new Date(2024, 0, 1, 9, 5).getTime();
    model.append(tab, { kind: LineKind.OWN, at, from: 'alice', text: 'hello bob', id: '1', delivery: Delivery.SENT });
    model.append(tab, { kind: LineKind.OWN, at, from: 'alice', text: 'second', id: '2', delivery: Delivery.DELIVERED });
    model.append(tab, { kind: LineKind.PEER, at, from: 'bob', text: '\x1b[2J\x1b]0;owned\x07{red-fg}red?{/red-fg} \x1b[31mplain' });
    const pane = new MessagesPane(screen);
    pane.update(tab, false);
    screen.render();
    const text = await vt.waitForText('second');
    assert.match(text, /bob 192\.0\.2\.7 · code 4821-0937/);
    assert.match(text, /09:05 alice: hello bob {2}✓ sent/);
    assert.match(text, /09:05 alice: second {2}✓✓ delivered/);
    assert.match(text, /09:05 bob: {red-fg}red\?{\/red-fg} plain/);
    assert.doesNotMatch(text, /owned/);
  });
});

test('messages pane: only the visible lines are drawn, newest at the bottom, PgUp moves back', async () => {
  await withScreen(SIZE, async (screen, vt) => {
    const model = new TabsModel();
    for (let i = 0; i < 10_000; i++) model.append(model.inbox, { kind: LineKind.BROADCAST, at: 0, from: 'x', text: `line ${i}` });
    const pane = new MessagesPane(screen);
    pane.update(model.inbox, false);
    screen.render();
    await vt.waitForText('line 9999');
    assert.ok((pane.box.getContent().match(/line /g) ?? []).length <= pane.rows);
    model.scrollBy(model.inbox, 100);
    pane.update(model.inbox, false);
    screen.render();
    const text = await vt.waitForText('line 9899');
    assert.doesNotMatch(text, /line 9999/);
    assert.match(text, /100 newer below/);
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
    bar.update({ user: 'alice', server: '127.0.0.1:4400', tcp: LinkState.RECONNECTING, udp: LinkState.DOWN, fingerprint: fp, sessions: 2, note: 'server lost, retry in 2 s' });
    screen.render();
    const text = await vt.waitForText('alice @ 127.0.0.1:4400');
    // What does not fit the width (here the fingerprint) is dropped, never wrapped.
    assert.match(text, /TCP reconnecting │ UDP down │ server lost, retry in 2 s │ 2 chats\s*$/m);
    bar.update({ user: 'alice', server: '127.0.0.1:4400', tcp: LinkState.CONNECTED, udp: LinkState.CONNECTED, fingerprint: fp, sessions: 1, note: '' });
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
