/**
 * The whole app in-process (createApp over injected streams) against a real server on
 * loopback: the login screens, errors in plain words, the main screen fed by the real
 * client core, reconnect display, resize, keys and commands.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { createApp, type TuiApp } from '../../../src/client/tui/app.ts';
import { startTestServer, tempDir, type TestServer } from '../../helpers/server.ts';
import { Keys, trustAndRegister, VirtualTerminal } from '../../helpers/terminal.ts';
import { waitFor } from '../../helpers/wait.ts';
import { defer } from '../../helpers/cleanup.ts';
import { nth } from '../../helpers/assert.ts';

interface Harness {
  vt: VirtualTerminal;
  app: TuiApp;
  server: TestServer;
  configDir: string;
  close(): Promise<void>;
}

async function start(
  options: { askServer?: boolean; server?: TestServer; cols?: number; rows?: number } = {},
): Promise<Harness> {
  const server = options.server ?? (await startTestServer());
  const config = await tempDir('tui-app');
  const vt = new VirtualTerminal(options.cols ?? 100, options.rows ?? 30);
  const app = createApp({
    input: vt.input,
    output: vt.output,
    configDir: config.path,
    ...(options.askServer ? {} : { host: '127.0.0.1', port: server.port }),
    clientOptions: { reconnectBaseMs: 50, reconnectMaxMs: 200 },
  });
  return {
    vt,
    app,
    server,
    configDir: config.path,
    async close() {
      await app.quit();
      vt.dispose();
      await server.close();
      await config.remove();
    },
  };
}

/** From a fresh start with the host given: trust, then register `user`. */
async function register(h: Harness, user: string, pass = 'long enough'): Promise<void> {
  await trustAndRegister(h.vt, user, pass);
}

test('server form prefilled, trust prompt with the fingerprint, register, main screen', async (t) => {
  const h = await start({ askServer: true });
  defer(t, () => h.close());
  let text = await h.vt.waitForText('Server IP');
  assert.match(text, /Server IP: +127\.0\.0\.1/);
  assert.match(text, /Port: +4400/);
  h.vt.type(`\r\x15${h.server.port}\r`);
  text = await h.vt.waitForText('Trust this server?');
  const fp = h.server.app.identity.fingerprint.split(':');
  assert.ok(
    text.includes(fp.slice(0, 16).join(':')) && text.includes(fp.slice(16).join(':')),
    'both halves of the fingerprint shown',
  );
  h.vt.type('y');
  await h.vt.waitForText('[r] Register');
  h.vt.type('r');
  await h.vt.waitForText('Password again');
  h.vt.type('alice\rfirst pass\rother pass\r');
  await h.vt.waitForText('The two passwords differ. Type them again.');
  // The user answers the error by typing: it goes at once, not at the next submit.
  h.vt.type('f');
  await h.vt.waitForGone('The two passwords differ');
  h.vt.type('irst pass\rfirst pass\r');
  text = await h.vt.waitForText('Logged in as alice (127.0.0.1)');
  assert.match(text, /Users \(1\)/);
  assert.match(text, /alice\*\s+127\.0\.0\.1/);
  await h.vt.waitForText(/alice @ 127\.0\.0\.1:\d+ │ TCP connected │ UDP connected/);
  // Another user comes online: listed with the IP the server sees.
  const bob = await h.server.client();
  await bob.register('bob', 'bob password');
  text = await h.vt.waitForText(/bob\s+127\.0\.0\.1/);
  assert.match(text, /Users \(2\)/);
  await bob.close();
  await h.vt.waitForText('Users (1)');
});

test('wrong password is said in plain words and the user can try again', async (t) => {
  const server = await startTestServer();
  const carol = await server.client();
  await carol.register('carol', 'carol password');
  await carol.close();
  const h = await start({ server });
  defer(t, () => h.close());
  await h.vt.waitForText('Trust this server?');
  h.vt.type('y');
  await h.vt.waitForText('[l] Login');
  h.vt.type('l');
  await h.vt.waitForText('Password:');
  h.vt.type('carol\rnot the password\r');
  await h.vt.waitForText('Wrong username or password.');
  // The password field was cleared and has the focus: type the right one.
  h.vt.type('carol password\r');
  await h.vt.waitForText('Logged in as carol');
});

test('a taken username, then Esc back to the menu', async (t) => {
  const server = await startTestServer();
  const dan = await server.client();
  await dan.register('dan', 'dan password');
  const h = await start({ server });
  defer(t, async () => {
    await dan.close();
    await h.close();
  });
  await h.vt.waitForText('Trust this server?');
  h.vt.type('y');
  await h.vt.waitForText('[r] Register');
  h.vt.type('r');
  await h.vt.waitForText('Password again');
  h.vt.type('DAN\rsome password\rsome password\r');
  await h.vt.waitForText('That username is taken. Pick another one.');
  h.vt.type(Keys.ESC);
  await h.vt.waitForText('[l] Login');
});

test('a changed fingerprint is refused with both fingerprints and what to do', async (t) => {
  const server = await startTestServer();
  const config = await tempDir('tui-app-fp');
  const wrong = Array.from({ length: 32 }, () => 'AB').join(':');
  await writeFile(join(config.path, 'known_hosts'), `127.0.0.1:${server.port} ${wrong}\n`);
  const vt = new VirtualTerminal(100, 30);
  const app = createApp({
    input: vt.input,
    output: vt.output,
    configDir: config.path,
    host: '127.0.0.1',
    port: server.port,
  });
  defer(t, async () => {
    await app.quit();
    vt.dispose();
    await server.close();
    await config.remove();
  });
  const text = await vt.waitForText('has changed');
  assert.ok(text.includes(wrong.slice(0, 40)), 'pinned fingerprint shown');
  // Each half (16 bytes) stands whole on a row: the wrap never cuts a byte.
  const rows = text.split('\n');
  assert.equal(
    rows.filter((row) => row.includes(wrong.slice(0, 47))).length,
    2,
    'both halves of the pinned fingerprint on rows of their own',
  );
  const runs = rows.flatMap((row) => row.match(/[0-9A-F]{2}(?::[0-9A-F]{2})+:?/g) ?? []);
  assert.equal(runs.length, 4, 'two fingerprints in two halves');
  for (const run of runs) assert.match(run, /^(?:[0-9A-F]{2}:){15}[0-9A-F]{2}$/, 'a half is 16 whole bytes');
  assert.match(text, /remove the line for 127\.0\.0\.1:\d+/);
  assert.match(text, /Server IP/);
});

test('an unreachable server is said plainly on the server form', async (t) => {
  const server = await startTestServer();
  const port = server.port;
  await server.close();
  const config = await tempDir('tui-app-down');
  const vt = new VirtualTerminal(100, 30);
  const app = createApp({ input: vt.input, output: vt.output, configDir: config.path, host: '127.0.0.1', port });
  defer(t, async () => {
    await app.quit();
    vt.dispose();
    await config.remove();
  });
  await vt.waitForText('Cannot reach the server');
  await vt.waitForText('Server IP');
});

test('main screen: keys, help overlay, commands, history, resize and the too-small message', async (t) => {
  const h = await start();
  defer(t, () => h.close());
  await register(h, 'erin');
  h.vt.type(Keys.F1);
  await h.vt.waitForText('Help: keys and commands');
  h.vt.type(Keys.ESC);
  await h.vt.waitForGone('Help: keys and commands');
  h.vt.type('/help\r');
  await h.vt.waitForText('Help: keys and commands');
  h.vt.type('q');
  await h.vt.waitForGone('Help: keys and commands');
  h.vt.type('/nope\r');
  await h.vt.waitForText('Unknown command /nope. Type /help for the list.');
  // A mistyped command leaves the line (Up brings it back).
  await h.vt.waitForText(/> \s*│/);
  h.vt.type('plain text\r');
  await h.vt.waitForText('This is the Broadcasts tab.');
  // Up brings back earlier lines, Down returns to what was being typed.
  await h.vt.waitForText('> plain text');
  h.vt.type('\x15');
  await h.vt.waitForGone('> plain text');
  h.vt.type(Keys.UP);
  await h.vt.waitForText('> plain text');
  h.vt.type(Keys.UP);
  await h.vt.waitForText('> /nope');
  h.vt.type(Keys.DOWN + Keys.DOWN);
  await h.vt.waitForText(/> \s*│/);
  h.vt.type(Keys.F8);
  await h.vt.waitForText('The Broadcasts tab is always there');
  h.vt.resize(50, 16);
  await h.vt.waitForText(/This window is 50x16; p2p-client needs at least\s+60x20\./);
  h.vt.resize(80, 24);
  await h.vt.waitForGone('Terminal too small');
  // Below 100 columns the user list is folded away; F2 shows it.
  await h.vt.waitForText('F2 users');
  h.vt.type(Keys.F2);
  await h.vt.waitForText('Users (1)');
  const bottom = h.vt.line(23);
  assert.match(bottom, /erin @ 127\.0\.0\.1:\d+ │ TCP connected/);
});

test('server goes away: the status bar says so, the client reconnects and logs back in', async (t) => {
  const first = await startTestServer();
  const dataDir = first.dataDir;
  const port = first.port;
  const h = await start({ server: first });
  let second: TestServer | null = null;
  defer(t, async () => {
    await h.close();
    await second?.close();
  });
  await register(h, 'frank');
  await first.stopServer();
  await h.vt.waitForText(/TCP (reconnecting|down)/);
  await h.vt.waitForText('Lost the server');
  second = await startTestServer({ dataDir, port });
  await h.vt.waitForText('Back online', 30_000);
  await h.vt.waitForText(/TCP connected/);
});

test('Ctrl-C quits at once when no chat is open', async (t) => {
  const h = await start();
  defer(t, () => h.close());
  await register(h, 'gina');
  h.vt.type(Keys.CTRL_C);
  await h.app.done;
});

test('PgUp and PgDn page by screen rows, keeping one row of the last page in view', async (t) => {
  const h = await start();
  defer(t, () => h.close());
  await register(h, 'paula');
  for (let i = 100; i < 200; i++) h.vt.type(`/x${i}\r`);
  await h.vt.waitForText('Unknown command /x199.');
  /** The command numbers on screen, top to bottom. */
  const shown = () => [...h.vt.text().matchAll(/Unknown command \/x(\d+)\./g)].map((m) => Number(m[1]));
  const pages: number[][] = [shown()];
  for (let i = 0; i < 3; i++) {
    const before = h.vt.text();
    h.vt.type(Keys.PAGE_UP);
    await waitFor(() => h.vt.text() !== before, { what: 'the page to move' });
    pages.push(shown());
  }
  for (let i = 1; i < pages.length; i++) {
    assert.equal(
      nth(pages, i, 'page').at(-1),
      nth(pages, i - 1, 'page')[0],
      `page ${i} ends with the row that began page ${i - 1}: ${JSON.stringify(pages)}`,
    );
  }
  await h.vt.waitForText('newer below: PgDn');
  // Back down: as many pages (one more row may be left), then following again.
  for (let i = 0; i < 4 && h.vt.text().includes('newer below'); i++) {
    const before = h.vt.text();
    h.vt.type(Keys.PAGE_DOWN);
    await waitFor(() => h.vt.text() !== before, { what: 'the page to move back' });
  }
  await h.vt.waitForGone('newer below');
  assert.equal(shown().at(-1), 199);
});
