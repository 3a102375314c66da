/**
 * A client of a cluster (PROTOCOL.md section 3.7, README "Client"): given several nodes it
 * connects to the first that answers, moves to another when its node goes away and logs in
 * again, and pins one certificate for the whole cluster: failing over to a node with the same
 * certificate is silent, a node with another one is refused as a changed key.
 * Plain servers (no Redis): each gets the account registered on it, and they share a
 * certificate by being given the same --tls-cert/--tls-key.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { ClientState, P2PClient } from '../../src/client/client.ts';
import { tryNodes } from '../../src/client/failover.ts';
import { KnownHosts } from '../../src/client/known-hosts.ts';
import { clusterKey, parseServerList, roundFrom, type ServerAddress } from '../../src/client/server-list.ts';
import { ErrorCode, type ProtocolError } from '../../src/net/errors.ts';
import { closedPort } from '../../bench/lib/closed-port.ts';
import { defer } from '../helpers/cleanup.ts';
import { addressOf, account, sameCertNodes } from '../helpers/same-cert.ts';
import { serverEnv } from '../helpers/server-process.ts';
import { tempDir, testServer } from '../helpers/server.ts';
import { nextEvent, waitFor } from '../helpers/wait.ts';

const PASSWORD = 'failover-password';
type Disconnected = [{ error: ProtocolError; retryInMs: number | null }];

test('server lists: forms, defaults, duplicates, and every bad entry named', () => {
  assert.deepEqual(parseServerList('a.example:4401, 10.0.0.2 ,[::1]:4402,::1', 4400), [
    { host: 'a.example', port: 4401 },
    { host: '10.0.0.2', port: 4400 },
    { host: '::1', port: 4402 },
    { host: '::1', port: 4400 },
  ]);
  assert.deepEqual(parseServerList('h:1,h:1', 4400), [{ host: 'h', port: 1 }]);
  assert.throws(
    () => parseServerList('good:4400,bad:0,,two words:1,[nope]:5,1:2:3', 4400),
    (err: Error) => {
      assert.match(err.message, /^bad server addresses: /);
      for (const named of [
        '"bad:0" (the port must be 1-65535)',
        '"" (empty)',
        '"two words:1"',
        '"[nope]:5"',
        '"1:2:3"',
      ])
        assert.ok(err.message.includes(named), `${named} in ${err.message}`);
      assert.ok(!err.message.includes('good'), 'a good entry is not named');
      return true;
    },
  );
  assert.throws(() => parseServerList('h:99999', 4400), /bad server address: "h:99999" \(the port must be 1-65535\)/);
  assert.equal(
    clusterKey([
      { host: 'b', port: 2 },
      { host: 'a', port: 1 },
    ]),
    'a:1,b:2',
  );
  assert.equal(clusterKey([{ host: '::1', port: 2 }]), '[::1]:2');
  assert.deepEqual(roundFrom(3, 2), [2, 0, 1]);
  assert.deepEqual(roundFrom(3, 3), [0, 1, 2]);
});

async function clusterClient(t: TestContext, nodes: ServerAddress[], trust = () => true) {
  const config = await tempDir('failover-client');
  defer(t, config.remove);
  const first = nodes[0] as ServerAddress;
  const client = new P2PClient({
    host: first.host,
    port: first.port,
    nodes,
    configDir: config.path,
    trust,
    reconnectBaseMs: 20,
    reconnectMaxMs: 200,
  });
  defer(t, () => client.close());
  return { client, config: config.path };
}

const at = addressOf;

test("the first node is down: the client connects to the second and pins the cluster's name", async (t) => {
  const [, two] = await sameCertNodes(t);
  await account('ann', PASSWORD, two);
  const down = { host: '127.0.0.1', port: await closedPort() };
  const { client, config } = await clusterClient(t, [down, at(two)]);
  const session = await client.login('ann', PASSWORD);
  assert.equal(session.user, 'ann');
  assert.deepEqual([client.server.port, client.server.index], [two.port, 1]);
  assert.equal(two.app.core.presence.size, 1);
  const lines = (await readFile(join(config, 'known_hosts'), 'utf8')).trim().split('\n');
  assert.deepEqual(lines, [`${clusterKey([down, at(two)])} ${two.app.identity.fingerprint}`]);
});

test('its node stops: the client moves to the other node, silently, and is logged in again', async (t) => {
  const [one, two] = await sameCertNodes(t);
  await account('bob', PASSWORD, one, two);
  let asked = 0;
  const { client } = await clusterClient(t, [at(one), at(two)], () => (asked += 1) > 0);
  await client.login('bob', PASSWORD);
  assert.equal(client.server.port, one.port);
  assert.equal(asked, 1, 'first contact with the cluster asks once');
  const dropped = nextEvent<Disconnected>(client, 'disconnected');
  await one.stopServer();
  const [{ retryInMs }] = await dropped;
  assert.ok(retryInMs !== null, 'a reconnect is scheduled');
  await waitFor(() => client.state === ClientState.ONLINE, { what: 'bob online again' });
  assert.equal(client.server.port, two.port);
  assert.equal(client.session?.user, 'bob');
  assert.equal(client.session?.registered, false, 'logged in, not registered');
  assert.equal(two.app.core.presence.get('bob')?.user, 'bob');
  assert.equal(asked, 1, 'the same certificate on the other node asks nothing');
  await waitFor(() => client.udpState === 'alive', { what: "UDP to the new node's port" });
  // And back: node one returns, node two stops.
  await one.restart();
  await two.stopServer();
  await waitFor(() => client.state === ClientState.ONLINE && client.server.port === one.port, {
    what: 'bob back on node one',
  });
  assert.equal(one.app.core.presence.size, 1);
});

test('a node with another certificate is refused as a changed key, at connect and on failover', async (t) => {
  const one = await testServer(t);
  const other = await testServer(t); // its own certificate
  assert.notEqual(one.app.identity.fingerprint, other.app.identity.fingerprint);
  await account('cat', PASSWORD, one, other);
  const nodes = [at(one), at(other)];
  const { client, config } = await clusterClient(t, nodes);
  await client.login('cat', PASSWORD);
  const ended = new Promise<ProtocolError>((resolve) =>
    client.on('disconnected', ({ error, retryInMs }) => {
      if (retryInMs === null) resolve(error);
    }),
  );
  await one.stopServer();
  const error = await ended;
  assert.equal(error.code, ErrorCode.FINGERPRINT_CHANGED);
  assert.match(error.message, /has changed/);
  assert.ok(error.message.includes(clusterKey(nodes)), 'names the line to remove');
  assert.equal(client.state, ClientState.IDLE);
  assert.equal(other.app.core.presence.size, 0, 'nothing was sent to the impostor');

  // A new client with the same config dir, the other node first: refused before anything is sent.
  const again = new P2PClient({ ...at(other), nodes: [at(other), at(one)], configDir: config, reconnect: false });
  defer(t, () => again.close());
  await assert.rejects(again.connect(), (err: ProtocolError) => err.code === ErrorCode.FINGERPRINT_CHANGED);
});

test('known_hosts from before clusters: a node pinned by its own host:port still guards the list', async (t) => {
  const [one, two] = await sameCertNodes(t);
  await account('dan', PASSWORD, two);
  const config = await tempDir('failover-old-pins');
  defer(t, config.remove);
  await writeFile(join(config.path, 'known_hosts'), `127.0.0.1:${two.port} ${two.app.identity.fingerprint}\n`);
  const client = new P2PClient({
    ...at(two),
    nodes: [at(two), at(one)],
    configDir: config.path,
    trust: () => false, // a question would refuse: the old line must answer
    reconnect: false,
  });
  defer(t, () => client.close());
  await client.login('dan', PASSWORD);
  assert.equal(client.server.port, two.port);
  const hosts = new KnownHosts(config.path);
  const fallback = await hosts.checkName(clusterKey([at(one), at(two)]), [`127.0.0.1:${two.port}`], 'AA');
  assert.deepEqual(fallback, {
    status: 'changed',
    pinned: two.app.identity.fingerprint,
    name: `127.0.0.1:${two.port}`,
  });
});

test('a host name with several addresses: each is tried until one answers', async (t) => {
  const server = await testServer(t); // listens on 127.0.0.1 only: 127.0.0.2 refuses
  const config = await tempDir('failover-names');
  defer(t, config.remove);
  const tried: string[] = [];
  const link = await tryNodes({
    nodes: [{ host: 'chat.example', port: server.port }],
    from: 0,
    knownHosts: new KnownHosts(config.path),
    trust: () => true,
    closed: () => false,
    resolve: (host) => {
      assert.equal(host, 'chat.example');
      return Promise.resolve(['127.0.0.2', '127.0.0.1']);
    },
    use: (opened, node) => {
      tried.push(node.address);
      return Promise.resolve(opened);
    },
  });
  defer(t, () => link.close());
  assert.deepEqual(tried, ['127.0.0.1']);
  assert.equal(link.hello.t, 'hello');
  const pins = await readFile(join(config.path, 'known_hosts'), 'utf8');
  assert.equal(pins, `chat.example:${server.port} ${server.app.identity.fingerprint}\n`, 'pinned under the name');
});

test('every node down: one error naming each node', async (t) => {
  const nodes = [
    { host: '127.0.0.1', port: await closedPort() },
    { host: '127.0.0.1', port: await closedPort() },
  ];
  const { client } = await clusterClient(t, nodes);
  await assert.rejects(client.connect(), (err: ProtocolError) => {
    assert.equal(err.code, ErrorCode.UNREACHABLE);
    for (const node of nodes) assert.ok(err.message.includes(`127.0.0.1:${node.port}`), err.message);
    return true;
  });
});

test('p2p-client names the bad entries of a server list and starts nothing', () => {
  const root = new URL('../..', import.meta.url).pathname;
  const run = spawnSync(process.execPath, ['bin/p2p-client', 'chat-a:4400,chat-b:0,,chat-c:99999'], {
    cwd: root,
    env: serverEnv(),
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.notEqual(run.status, 0);
  assert.match(
    run.stderr,
    /bad server addresses: "chat-b:0" \(the port must be 1-65535\), "" \(empty\), "chat-c:99999"/,
  );
});

test('every node down after a loss: each round tries all of them, then backs off, until one returns', async (t) => {
  const [one, two] = await sameCertNodes(t);
  await account('fay', PASSWORD, one, two);
  const { client } = await clusterClient(t, [at(one), at(two)]);
  await client.login('fay', PASSWORD);
  const rounds: Array<{ error: ProtocolError; retryInMs: number | null }> = [];
  client.on('disconnected', (event) => rounds.push(event));
  await two.stopServer();
  await one.stopServer();
  await waitFor(() => rounds.length >= 4, { what: 'three failed rounds after the loss' });
  for (const { error, retryInMs } of rounds.slice(1)) {
    assert.ok(retryInMs !== null && retryInMs <= 200, `back-off after the round: ${retryInMs}`);
    for (const server of [one, two]) assert.ok(error.message.includes(`127.0.0.1:${server.port}`), error.message);
  }
  await two.restart();
  await waitFor(() => client.state === ClientState.ONLINE, { what: 'fay online on the node that returned' });
  assert.equal(client.server.port, two.port);
});
