import assert from 'node:assert/strict';
import { test } from 'node:test';
import { P2PClient } from '../../src/client/client.ts';
import { freePort, spawnHeadless } from '../helpers/headless.ts';
import { ServerInPty } from '../helpers/server-pty.ts';
import { TEST_SCRYPT_LOG_N, tempDir } from '../helpers/server.ts';
import { defer } from '../helpers/cleanup.ts';

const PASSWORD = 'frank-secret-password';
const WRONG_PASSWORD = 'wrong-guess-password';

test('stdout not a terminal: JSON lines that parse and carry the events; SIGTERM stops cleanly', async (t) => {
  const data = await tempDir('headless');
  const config = await tempDir('headless-client');
  const server = spawnHeadless([
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--data-dir',
    data.path,
    '--scrypt-cost',
    String(TEST_SCRYPT_LOG_N),
  ]);
  const clients: P2PClient[] = [];
  defer(t, async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    server.kill();
    await data.remove();
    await config.remove();
  });
  const listening = await server.waitForEvent('listening');
  assert.equal(typeof listening.tcpPort, 'number');
  assert.match(String(listening.fingerprint), /^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/);
  const connect = () => {
    const client = new P2PClient({
      host: '127.0.0.1',
      port: listening.tcpPort as number,
      configDir: config.path,
      reconnect: false,
    });
    clients.push(client);
    return client;
  };
  const frank = connect();
  await frank.register('frank', PASSWORD);
  assert.equal((await frank.request({ t: 'broadcast', text: 'hello everyone' })).t, 'broadcast_ok');
  await frank.close();
  await assert.rejects(connect().login('frank', WRONG_PASSWORD), /wrong username or password/);

  const registered = await server.waitForEvent('register', (r) => r.user === 'frank');
  assert.equal(registered.ip, '127.0.0.1');
  assert.equal(registered.level, 'info');
  await server.waitForEvent('login', (r) => r.user === 'frank');
  await server.waitForEvent('logout', (r) => r.user === 'frank');
  const created = await server.waitForEvent('broadcast_created');
  assert.deepEqual([created.from, created.preview, created.level], ['frank', 'hello everyone', 'info']);
  assert.match(String(created.bid), /^[0-9a-f]+$/);
  const failed = await server.waitForEvent('login_failed');
  assert.deepEqual(
    [failed.user, failed.ip, failed.code, failed.level],
    ['frank', '127.0.0.1', 'E_AUTH_FAILED', 'warn'],
  );
  // The default level is info: connection-level debug events stay out.
  assert.equal(server.records.filter((r) => r.event === 'connection').length, 0);

  server.signal('SIGTERM');
  assert.equal(await server.exited, 0);
  assert.ok(server.records.some((r) => r.event === 'shutdown' && r.by === 'SIGTERM'));
  assert.ok(server.records.some((r) => r.event === 'stopped'));
  for (const line of server.rawLines) {
    const record = JSON.parse(line) as Record<string, unknown>;
    assert.ok(!Number.isNaN(Date.parse(String(record.time))), `time in ${line}`);
    assert.match(String(record.level), /^(debug|info|warn|error)$/);
    assert.equal(typeof record.event, 'string');
  }
  const all = server.rawLines.join('\n');
  assert.ok(!all.includes(PASSWORD) && !all.includes(WRONG_PASSWORD), 'no password in the log');
  assert.equal(server.stderr(), '');
});

test('--headless --log-level warn logs only warnings and errors', async (t) => {
  const data = await tempDir('headless-warn');
  const config = await tempDir('headless-warn-client');
  const port = await freePort(); // listening is info, so at warn the log cannot tell us the port
  const server = spawnHeadless([
    '--headless',
    '--log-level',
    'warn',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--data-dir',
    data.path,
    '--scrypt-cost',
    String(TEST_SCRYPT_LOG_N),
  ]);
  const client = new P2PClient({ host: '127.0.0.1', port, configDir: config.path, reconnect: false });
  defer(t, async () => {
    await client.close().catch(() => {});
    server.kill();
    await data.remove();
    await config.remove();
  });
  // The server may still be starting: retry the first connection until it listens.
  for (let attempt = 0; ; attempt++) {
    try {
      await client.connect();
      break;
    } catch (err) {
      if (attempt > 100) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await assert.rejects(client.login('nobody', WRONG_PASSWORD), /wrong username or password/);
  await server.waitForEvent('login_failed', (r) => r.user === 'nobody');
  assert.deepEqual([...new Set(server.records.map((r) => r.level))], ['warn']);
  server.signal('SIGINT');
  assert.equal(await server.exited, 0);
});

test('--headless in a terminal still writes JSON lines, not the dashboard', async (t) => {
  const data = await tempDir('headless-tty');
  const server = ServerInPty.spawn(['--headless', '--host', '127.0.0.1', '--port', '0', '--data-dir', data.path], {
    cols: 200,
  });
  defer(t, async () => {
    server.kill();
    await data.remove();
  });
  await server.waitForText(/\{"time":"[^"]+","level":"info","event":"listening"/);
  assert.doesNotMatch(server.text(), /Connections|Pending broadcasts/);
});
