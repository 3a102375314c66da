/**
 * /passwd and /delete-account in the real bin/p2p-client in a pseudo-terminal, against a real
 * server on loopback (PROTOCOL.md section 4.6). The passwords are typed into masked fields:
 * the screen never shows them, and the server's store is checked for the outcome.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ClientProcess } from '../helpers/pty.ts';
import { startTestServer } from '../helpers/server.ts';
import { Keys, trustAndRegister } from '../helpers/terminal.ts';
import { defer } from '../helpers/cleanup.ts';

const START_MS = 30_000;
const OLD = 'first secret pw';
const NEW = 'second secret pw';

test('e2e: /passwd asks in masked fields, checks the confirmation, changes the password; /delete-account asks for the password and a confirmation', async (t) => {
  const server = await startTestServer();
  const client = await ClientProcess.spawn(['127.0.0.1', String(server.port)]);
  const secretsOffScreen = () => {
    const text = client.text();
    for (const secret of [OLD, NEW, 'not the password'])
      assert.ok(!text.includes(secret), `"${secret}" is on screen:\n${text}`);
  };
  const store = server.app.core.store;
  const hasPassword = async (pass: string) => {
    const record = store.get('alice');
    return record !== undefined && (await server.app.core.hasher.verify(record.passwordHash, pass));
  };
  defer(t, async () => {
    await client.kill();
    await server.close();
  });
  await trustAndRegister(client, 'alice', OLD, START_MS);

  // Esc on the first field backs out.
  await client.enter('/passwd');
  await client.waitForText('Change password');
  client.type(Keys.ESC);
  await client.waitForText('Password not changed.');
  await client.waitForGone('Change password');

  // A confirmation that does not match keeps the form open, with the fields masked.
  await client.enter('/passwd');
  await client.waitForText('New password again');
  client.type(`${OLD}\r${NEW}\rsecond secret pX\r`);
  await client.waitForText('The two new passwords do not match.');
  secretsOffScreen();
  assert.match(client.text(), /Current password: +•{15}/);
  client.type('\x15'); // Ctrl-U clears the field
  client.type(`${NEW}\r`);
  await client.waitForText('Password changed.');
  secretsOffScreen();
  assert.equal(await hasPassword(NEW), true, 'the server has the new password');
  assert.equal(await hasPassword(OLD), false);

  // A wrong password is refused after the confirmation, and the account stays.
  await client.enter('/delete-account');
  await client.waitForText('Delete account');
  client.type('not the password\r');
  await client.waitForText('Delete alice now?');
  secretsOffScreen();
  client.type('y');
  await client.waitForText('Account not deleted: Wrong password.');
  assert.equal(store.has('alice'), true);

  // "n" at the question keeps it too; nothing is sent.
  await client.enter('/delete-account');
  await client.waitForText('Delete account');
  client.type(`${NEW}\r`);
  await client.waitForText('Delete alice now?');
  client.type('n');
  await client.waitForText('Account not deleted.');
  assert.equal(store.has('alice'), true);

  await client.enter('/delete-account');
  await client.waitForText('Delete account');
  client.type(`${NEW}\r`);
  await client.waitForText('Delete alice now?');
  client.type('y');
  await client.waitForText('The account alice was deleted.');
  await client.waitForText('Your account was deleted.');
  secretsOffScreen();
  assert.equal(store.has('alice'), false);
  const newcomer = await server.client();
  assert.equal((await newcomer.register('alice', 'someone else now')).registered, true, 'the name is free again');

  client.type(Keys.F10);
  assert.equal(await client.waitForExit(), 0);
});
