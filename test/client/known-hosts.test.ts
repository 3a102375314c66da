/**
 * Trust on first use (PROTOCOL.md section 3.5): the client pins the server's certificate
 * fingerprint and refuses, naming both fingerprints, a server whose certificate changed.
 */
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { ClientState, P2PClient } from '../../src/client/client.ts';
import { KnownHosts } from '../../src/client/known-hosts.ts';
import { defaultConfigDir } from '../../src/client/config-dir.ts';
import { ErrorCode, ProtocolError } from '../../src/net/errors.ts';
import { FINGERPRINT_PATTERN } from '../../src/net/tls.ts';
import { startTestServer, testServer, tempDir } from '../helpers/server.ts';
import { nextEvent, waitFor } from '../helpers/wait.ts';
import { defer } from '../helpers/cleanup.ts';

const FP_A = Array.from({ length: 32 }, () => 'AA').join(':');
const FP_B = Array.from({ length: 32 }, () => 'BB').join(':');

test('KnownHosts: unknown, pinned, changed, forgotten; junk lines ignored', async (t) => {
  const dir = await tempDir('known');
  defer(t, () => dir.remove());
  const hosts = new KnownHosts(join(dir.path, 'nested'));
  assert.deepEqual(await hosts.check('example.org', 4400, FP_A), { status: 'unknown' });
  await hosts.pin('example.org', 4400, FP_A);
  await hosts.pin('::1', 4400, FP_B);
  assert.deepEqual(await hosts.check('example.org', 4400, FP_A), { status: 'known' });
  assert.deepEqual(await hosts.check('example.org', 4401, FP_A), { status: 'unknown' }, 'the port is part of the key');
  assert.deepEqual(await hosts.check('example.org', 4400, FP_B), { status: 'changed', pinned: FP_A });
  assert.equal(await readFile(hosts.path, 'utf8'), `example.org:4400 ${FP_A}\n[::1]:4400 ${FP_B}\n`);
  await writeFile(hosts.path, `garbage\nexample.org:4400 not-a-fingerprint\n[::1]:4400 ${FP_B}\n`);
  assert.deepEqual(await hosts.check('example.org', 4400, FP_A), { status: 'unknown' });
  await hosts.forget('::1', 4400);
  assert.deepEqual(await hosts.check('::1', 4400, FP_B), { status: 'unknown' });
});

test('the config dir: P2P_CONFIG_DIR, else XDG_CONFIG_HOME, else ~/.config', () => {
  assert.equal(defaultConfigDir({ P2P_CONFIG_DIR: '/x/y', XDG_CONFIG_HOME: '/z' }), '/x/y');
  assert.equal(defaultConfigDir({ XDG_CONFIG_HOME: '/z' }), '/z/p2p-broadcast');
  assert.match(defaultConfigDir({}), /\.config\/p2p-broadcast$/);
});

test('first contact pins the fingerprint; a refused first contact pins nothing', async (t) => {
  const server = await startTestServer();
  const config = await tempDir('client');
  defer(t, async () => {
    await server.close();
    await config.remove();
  });
  const refusing = new P2PClient({ host: '127.0.0.1', port: server.port, configDir: config.path, trust: () => false });
  await assert.rejects(refusing.connect(), (err: ProtocolError) => err.code === ErrorCode.FINGERPRINT_REJECTED);
  const hosts = new KnownHosts(config.path);
  assert.deepEqual(await hosts.check('127.0.0.1', server.port, server.app.identity.fingerprint), { status: 'unknown' });

  let asked: string | null = null;
  const client = new P2PClient({
    host: '127.0.0.1',
    port: server.port,
    configDir: config.path,
    trust: (q) => {
      asked = q.fingerprint;
      return true;
    },
  });
  await client.connect();
  assert.equal(asked, server.app.identity.fingerprint);
  assert.match(server.app.identity.fingerprint, FINGERPRINT_PATTERN);
  assert.equal(client.fingerprint, server.app.identity.fingerprint);
  assert.deepEqual(await hosts.check('127.0.0.1', server.port, server.app.identity.fingerprint), { status: 'known' });
  await client.close();
});

test('a server whose certificate changed is refused with E_FINGERPRINT_CHANGED naming both fingerprints', async (t) => {
  const first = await startTestServer();
  const config = await tempDir('client');
  const port = first.port;
  let second: Awaited<ReturnType<typeof startTestServer>> | null = null;
  defer(t, async () => {
    await second?.close();
    await first.close();
    await config.remove();
  });
  const client = new P2PClient({ host: '127.0.0.1', port, configDir: config.path });
  await client.connect();
  await client.register('pinned', 'pinned-password');
  const oldFingerprint = first.app.identity.fingerprint;
  await client.close();
  await first.close();

  // Same address and port, fresh data dir: a new key and certificate.
  second = await startTestServer({ port });
  const newFingerprint = second.app.identity.fingerprint;
  assert.notEqual(newFingerprint, oldFingerprint);

  let asked = false;
  const again = new P2PClient({ host: '127.0.0.1', port, configDir: config.path, trust: () => (asked = true) });
  await assert.rejects(again.connect(), (err: unknown) => {
    assert.ok(err instanceof ProtocolError);
    assert.equal(err.code, ErrorCode.FINGERPRINT_CHANGED);
    assert.ok(err.message.includes(oldFingerprint), 'names the pinned fingerprint');
    assert.ok(err.message.includes(newFingerprint), 'names the presented fingerprint');
    assert.ok(err.message.includes(new KnownHosts(config.path).path), 'says which file to edit');
    return true;
  });
  assert.equal(asked, false, 'a changed key is never silently re-trusted');
  assert.equal(again.state, ClientState.IDLE);
  assert.equal(second.app.core.presence.size, 0, 'no credentials were sent');
  assert.equal(
    await readFile(join(config.path, 'known_hosts'), 'utf8'),
    `127.0.0.1:${port} ${oldFingerprint}\n`,
    'the pin is unchanged',
  );
});

test('an online client whose server comes back with a new certificate stops reconnecting', async (t) => {
  const server = await testServer(t);
  const client = await server.client({ reconnectBaseMs: 20, reconnectMaxMs: 100 });
  await client.register('wary', 'wary-password');
  const refused = nextEvent<[{ error: ProtocolError; retryInMs: number | null }]>(
    client,
    'disconnected',
    (e) => e.error.code === ErrorCode.FINGERPRINT_CHANGED,
    30_000,
  );
  await server.stopServer();
  // Same data dir, but the certificate files are gone: the server makes a new identity.
  await rm(join(server.dataDir, 'server-cert.pem'));
  await rm(join(server.dataDir, 'server-key.pem'));
  await server.restart();
  const [{ error, retryInMs }] = await refused;
  assert.equal(retryInMs, null);
  assert.ok(error.message.includes(server.app.identity.fingerprint));
  await waitFor(() => client.state === ClientState.IDLE, { what: 'client gives up' });
  assert.equal(server.app.core.presence.size, 0, 'the password was not sent to the new server');
});
