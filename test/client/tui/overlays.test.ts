/** The request notice, the help overlay, dialogs, forms and the too-small message, drawn and read back. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { COMMANDS } from '../../../src/client/tui/commands.ts';
import { KEYMAP } from '../../../src/client/tui/keymap.ts';
import { RequestQueue } from '../../../src/client/tui/request-queue.ts';
import { DialogView } from '../../../src/client/tui/views/dialog.ts';
import { FormView } from '../../../src/client/tui/views/form.ts';
import { HelpOverlay, helpLines } from '../../../src/client/tui/views/help-overlay.ts';
import { MenuView } from '../../../src/client/tui/views/menu.ts';
import { RequestNotice } from '../../../src/client/tui/views/request-notice.ts';
import { TooSmallView } from '../../../src/client/tui/views/too-small.ts';
import { withScreen } from '../../helpers/terminal.ts';
import { nth } from '../../helpers/assert.ts';

test('request notice: who, IP, seconds left, keys, how many more wait', async () => {
  await withScreen({ cols: 100, rows: 30 }, async (screen, vt) => {
    let now = 1_000_000;
    const queue = new RequestQueue(() => now);
    queue.add({ id: 'a1', from: { user: 'bob', ip: '192.0.2.7' }, expiresAt: now + 30_000 });
    queue.add({ id: 'b2', from: { user: 'carol', ip: '192.0.2.8' }, expiresAt: now + 40_000 });
    const modal = new RequestNotice(screen);
    const draw = () => {
      if (queue.first) modal.show(queue.first, now, queue.size - 1, 4);
      else modal.hide();
      screen.render();
    };
    draw();
    let text = await vt.waitForText('Chat request');
    assert.match(text, /bob \(192\.0\.2\.7\) wants to chat with you/);
    assert.match(text, /Answer within 30 s/);
    assert.match(text, /Alt-Y accept {3}Alt-N decline {3}\(or \/accept, \/decline\)/);
    assert.match(text, /1 more waiting/);
    now += 12_500;
    queue.tick();
    draw();
    await vt.waitForText('Answer within 18 s');
    now += 18_000; // bob's request is over; carol's has 9.5 s left
    queue.tick();
    draw();
    text = await vt.waitForText('carol (192.0.2.8)');
    assert.match(text, /Answer within 10 s/);
    queue.remove('b2');
    draw();
    await vt.waitForGone('Chat request');
    queue.stop();
  });
});

test('help overlay lists every key binding and every command', async () => {
  await withScreen({ cols: 100, rows: 120 }, async (screen, vt) => {
    const help = new HelpOverlay(screen);
    help.show();
    screen.render();
    const text = await vt.waitForText('Help: keys and commands');
    for (const b of KEYMAP)
      assert.ok(
        text.includes(b.label) && text.includes(b.description.slice(0, 30)),
        `missing ${b.label}: ${b.description}`,
      );
    for (const c of COMMANDS) assert.ok(text.includes(c.usage), `missing ${c.usage}`);
    assert.equal(help.handleKey('down'), true);
    assert.equal(help.handleKey('escape'), false);
    screen.render();
    await vt.waitForGone('Help: keys and commands');
  });
});

test('help overlay scrolls in a small terminal', async () => {
  await withScreen({ cols: 80, rows: 24 }, async (screen, vt) => {
    const help = new HelpOverlay(screen);
    help.show();
    screen.render();
    await vt.waitForText('Ctrl-C / F10');
    assert.ok(!vt.text().includes('/quit'));
    assert.match(vt.text(), /-- more below: Down \/ PgDn --/);
    // The very first Down scrolls a line (blessed's own scrolling first walked a cursor down the page).
    const firstLine = nth(helpLines(), 0, 'help line').replace(/\{[^}]*\}/g, '');
    assert.ok(vt.text().includes(firstLine));
    help.handleKey('down');
    screen.render();
    await vt.waitForGone(firstLine);
    for (let i = 0; i < 10; i++) help.handleKey('pagedown');
    screen.render();
    await vt.waitForText('/quit');
  });
});

test('yes/no dialog: y, n and Esc', async () => {
  await withScreen({ cols: 100, rows: 30 }, async (screen, vt) => {
    const dialog = new DialogView(screen, {
      title: 'New server',
      lines: ['First connection to 10.0.0.1:4400.'],
      question: 'Trust this server?',
    });
    screen.render();
    await vt.waitForText(/Trust this server\?\s+y = yes, n \/ Esc = no/);
    assert.equal(DialogView.answer('y', 'y'), true);
    assert.equal(DialogView.answer('n', 'n'), false);
    assert.equal(DialogView.answer(undefined, 'escape'), false);
    assert.equal(DialogView.answer('x', 'x'), null);
    dialog.destroy();
  });
});

test('form: Enter moves on and submits on the last field, Esc goes back, passwords are masked', async () => {
  await withScreen({ cols: 100, rows: 30 }, async (screen, vt) => {
    const form = new FormView(screen, {
      title: 'Register',
      intro: ['Create an account.'],
      fields: [
        { name: 'user', label: 'Username' },
        { name: 'pass', label: 'Password', masked: true },
      ],
      hint: 'Enter: next',
    });
    const type = (s: string) => [...s].map((ch) => form.handleKey(ch, { name: ch }));
    type('bob');
    assert.equal(form.handleKey('\r', { name: 'enter', full: 'enter' }), null);
    type('hunter22');
    screen.render();
    const text = await vt.waitForText('Password:');
    assert.match(text, /Password: +•{8}/);
    assert.doesNotMatch(text, /hunter22/);
    assert.equal(form.handleKey('\r', { name: 'enter', full: 'enter' }), 'submit');
    assert.deepEqual(form.values(), { user: 'bob', pass: 'hunter22' });
    assert.equal(form.handleKey(undefined, { name: 'escape', full: 'escape' }), null);
    assert.equal(form.focusedField, 'user');
    assert.equal(form.handleKey(undefined, { name: 'escape', full: 'escape' }), 'back');
    form.setError('The two passwords differ. Type them again.');
    screen.render();
    await vt.waitForText('The two passwords differ');
  });
});

test('menu: hotkeys and arrows', async () => {
  await withScreen({ cols: 100, rows: 30 }, async (screen, vt) => {
    const menu = new MenuView(screen, {
      title: 'p2p-client',
      intro: [],
      choices: [
        { value: 'login', label: 'Login', hotkey: 'l' },
        { value: 'register', label: 'Register', hotkey: 'r' },
      ],
      hint: '',
    });
    screen.render();
    await vt.waitForText('[r] Register');
    assert.deepEqual(menu.handleKey('r', { name: 'r' }), { picked: 'register' });
    menu.handleKey(undefined, { name: 'down', full: 'down' });
    assert.deepEqual(menu.handleKey(undefined, { name: 'enter', full: 'enter' }), { picked: 'register' });
  });
});

test('too-small message names the size and the minimum', async () => {
  await withScreen({ cols: 50, rows: 16 }, async (screen, vt) => {
    const view = new TooSmallView(screen);
    view.update(50, 16);
    view.setVisible(true);
    screen.render();
    await vt.waitForText(/This window is 50x16; p2p-client needs at least\s+60x20\./);
  });
});
