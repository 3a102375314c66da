/**
 * The real bin/p2p-client in a pseudo-terminal against a real server on loopback: keys
 * typed, the screen read back. Register, login, the user list with IPs, a wrong password,
 * resize, quit.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientProcess } from '../helpers/pty.ts';
import { startTestServer } from '../helpers/server.ts';
import { Keys } from '../helpers/terminal.ts';
import { defer } from '../helpers/cleanup.ts';

const START_MS = 30_000;

/** Trust the server, then register or log in. */
async function authenticate(c: ClientProcess, kind: 'register' | 'login', user: string, pass: string): Promise<void> {
  await c.waitForText('Trust this server?', START_MS);
  c.type('y');
  await c.waitForText('[r] Register');
  c.type(kind === 'register' ? 'r' : 'l');
  await c.waitForText('Password:');
  c.type(kind === 'register' ? `${user}\r${pass}\r${pass}\r` : `${user}\r${pass}\r`);
}

test('e2e: register two users, each sees the other with its IP; wrong password; resize; quit', async (t) => {
  const server = await startTestServer();
  const clients: ClientProcess[] = [];
  defer(t, async () => {
    for (const c of clients) await c.kill();
    await server.close();
  });
  // No arguments: the client asks for the server, 127.0.0.1 and 4400 filled in.
  const alice = await ClientProcess.spawn([]);
  clients.push(alice);
  let text = await alice.waitForText('Server IP', START_MS);
  assert.match(text, /Server IP: +127\.0\.0\.1/);
  assert.match(text, /Port: +4400/);
  alice.type(`\r\x15${server.port}\r`);
  await authenticate(alice, 'register', 'alice', 'alice password');
  await alice.waitForText('Logged in as alice (127.0.0.1)');

  const bob = await ClientProcess.spawn(['127.0.0.1', String(server.port)]);
  clients.push(bob);
  await authenticate(bob, 'register', 'bob', 'bob password');
  text = await bob.waitForText(/alice\s+127\.0\.0\.1/);
  assert.match(text, /Users \(2\)/);
  text = await alice.waitForText(/bob\s+127\.0\.0\.1/);
  assert.match(text, /alice @ 127\.0\.0\.1:\d+ │ TCP connected/);

  // A third terminal: wrong password, said plainly; then the right one.
  const again = await ClientProcess.spawn([], { env: { P2P_HOST: '127.0.0.1', P2P_PORT: String(server.port) } });
  clients.push(again);
  await authenticate(again, 'login', 'bob', 'wrong password');
  await again.waitForText('Wrong username or password.');
  again.type('bob password\r');
  await again.waitForText('Logged in as bob');
  // The older bob was replaced and says so.
  await bob.waitForText('You logged in somewhere');
  await bob.waitForText('TCP down');

  // Resize below the minimum and back.
  alice.resize(50, 16);
  await alice.waitForText(/This window is 50x16; p2p-client needs at least\s+60x20\./);
  alice.resize(100, 30);
  await alice.waitForGone('Terminal too small');
  await alice.waitForText(/Users \(2\)/);

  alice.type(Keys.F10);
  assert.equal(await alice.waitForExit(), 0);
});

test('e2e: --help prints the usage and exits', async (t) => {
  const c = await ClientProcess.spawn(['--help']);
  defer(t, () => c.kill());
  await c.waitForText('p2p-client [host] [port]', START_MS);
  assert.equal(await c.waitForExit(), 0);
});

test('e2e: in a 60x20 pseudo-terminal (half a split tmux window) the client registers, folds the user list and searches', async (t) => {
  const server = await startTestServer();
  const carol = await ClientProcess.spawn(['127.0.0.1', String(server.port)], { cols: 60, rows: 20 });
  defer(t, async () => {
    await carol.kill();
    await server.close();
  });
  await authenticate(carol, 'register', 'carol', 'carol password');
  await carol.waitForText('Logged in as carol');
  await carol.waitForText('F2 users');
  assert.doesNotMatch(carol.text(), /Users \(/);
  // Every row ends on its border: nothing of the layout spills past 60 columns.
  for (let y = 1; y < 18; y++) assert.match(carol.line(y), /[│┐┘]$/, `row ${y}: ${carol.line(y)}`);
  carol.type(Keys.F2);
  await carol.waitForText('Users (1)');
  carol.type(Keys.F2);
  await carol.waitForGone('Users (1)');
  carol.type(Keys.CTRL_R);
  carol.type('logged');
  await carol.waitForText('Search: 1/1');
  carol.type(Keys.ESC);
  await carol.waitForGone('Search:');
});
