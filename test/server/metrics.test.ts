/**
 * The monitoring endpoint (README "Monitoring"): /metrics in the Prometheus text format and
 * /healthz, scraped over real HTTP from a real server while real clients log in, fail,
 * register, broadcast and ask for peers.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { ErrorCode } from '../../src/net/errors.ts';
import type { ServerMessage } from '../../src/net/messages.ts';
import { parseMetricsAddress } from '../../src/server/metrics/http.ts';
import { BroadcastInbox } from '../../src/client/broadcasts.ts';
import { onlineUser, PASSWORD } from '../helpers/broadcast.ts';
import { spawnServer } from '../helpers/server-process.ts';
import { testServer, tempDir, type TestServer } from '../helpers/server.ts';
import { defer } from '../helpers/cleanup.ts';
import { waitFor } from '../helpers/wait.ts';

interface Reply {
  status: number;
  type: string | undefined;
  body: string;
}

function http(port: number, path: string, method = 'GET'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Every sample of a scrape: `name{labels}` -> value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    out.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return out;
}

async function scrape(server: TestServer): Promise<Map<string, number>> {
  const reply = await http(metricsPort(server), '/metrics');
  assert.equal(reply.status, 200);
  assert.match(reply.type ?? '', /^text\/plain; version=0\.0\.4/);
  return samples(reply.body);
}

function metricsPort(server: TestServer): number {
  const endpoint = server.app.metrics;
  assert.ok(endpoint, 'the metrics endpoint is on');
  return endpoint.address.port;
}

const value = (scraped: Map<string, number>, name: string): number => scraped.get(name) ?? 0;

test('the numbers move by what clients did: logins, failures, registrations, broadcasts, peer requests', async (t) => {
  const server = await testServer(t, { metrics: { host: '127.0.0.1', port: 0 } });
  const before = await scrape(server);
  assert.equal(value(before, 'p2p_sessions_online'), 0);

  const alice = await onlineUser(server, 'alice'); // a registration: one login too
  // bob advertises a peer port (no listener: the server only introduces), so he can be asked.
  const bobClient = await server.client();
  bobClient.peerPort = 40_000;
  const bob = { client: bobClient, inbox: new BroadcastInbox(bobClient) };
  await bobClient.register('bob', PASSWORD);
  const carol = await server.client();
  await carol.register('carol', PASSWORD);
  await carol.close();
  const again = await server.client();
  await assert.rejects(again.login('carol', 'not the password'));
  await assert.rejects(again.login('carol', 'wrong again'));
  await again.login('carol', PASSWORD);

  // A broadcast, acknowledged by alice and bob (carol's client keeps no inbox, so never acks).
  await alice.client.request({ t: 'broadcast', text: 'hello from alice' });
  await waitFor(() => bob.inbox.items.length === 1 && alice.inbox.items.length === 1, { what: 'the broadcast' });

  // A peer request bob declines.
  const prompts: ServerMessage[] = [];
  bob.client.on('message', (m) => prompts.push(m));
  const pending = await alice.client.request({ t: 'connect', user: 'bob' });
  assert.equal(pending.t, 'connect_pending');
  const prompt = await waitFor(() => prompts.find((m) => m.t === 'connect_prompt'), { what: "bob's prompt" });
  await bob.client.request({ t: 'connect_answer', reqId: prompt.reqId, accept: false });

  const after = await waitFor(
    async () => {
      const s = await scrape(server);
      return value(s, 'p2p_broadcast_acks_total') >= 2 && value(s, 'p2p_peer_results_total{outcome="declined"}') >= 1
        ? s
        : undefined;
    },
    { what: 'two acks and the peer result in a scrape' },
  );
  const moved = (name: string) => value(after, name) - value(before, name);
  assert.equal(moved('p2p_registrations_total'), 3);
  assert.equal(moved('p2p_logins_total'), 4); // three registrations, one login
  assert.equal(moved(`p2p_logins_failed_total{code="${ErrorCode.AUTH_FAILED}"}`), 2);
  assert.equal(moved('p2p_connections_total'), 4);
  assert.equal(value(after, 'p2p_connections'), 3);
  assert.equal(value(after, 'p2p_sessions_online'), 3);
  assert.ok(value(after, 'p2p_sessions_udp_alive') >= 1, 'alice waited for her UDP path');
  assert.equal(moved('p2p_broadcasts_queued_total'), 1);
  assert.equal(value(after, 'p2p_broadcasts_pending'), 1);
  assert.equal(moved('p2p_peer_requests_total'), 1);
  assert.equal(moved('p2p_peer_results_total{outcome="declined"}'), 1);
  assert.equal(value(after, 'p2p_broadcast_acks_total'), 2);
  // Two first acks, each observed once in the latency histogram, whose buckets are all there.
  assert.equal(value(after, 'p2p_broadcast_delivery_latency_seconds_count'), 2);
  for (const le of ['0.005', '1', '1800', '+Inf'])
    assert.ok(after.has(`p2p_broadcast_delivery_latency_seconds_bucket{le="${le}"}`), `bucket ${le}`);
  assert.equal(value(after, 'p2p_broadcast_delivery_latency_seconds_bucket{le="+Inf"}'), 2);
  for (const name of [
    'p2p_broadcast_retransmits_total',
    'p2p_broadcast_tcp_fallbacks_total',
    'p2p_password_hash_queued',
    'p2p_password_hash_in_flight',
    'p2p_relay_circuits',
    'p2p_broadcasts_delivered_total',
    'p2p_broadcasts_expired_total',
  ])
    assert.ok(after.has(name), name);
  // prom-client's process metrics: event-loop delay and memory.
  assert.ok(value(after, 'p2p_process_resident_memory_bytes') > 0);
  assert.ok(after.has('p2p_nodejs_eventloop_lag_p99_seconds'));
  assert.ok(value(after, 'p2p_nodejs_heap_size_used_bytes') > 0);
});

test('healthz: 200 while serving, 503 from the moment the stop begins; other paths 404, other methods 405', async (t) => {
  const server = await testServer(t, { metrics: { host: '127.0.0.1', port: 0 } });
  const port = metricsPort(server);
  assert.deepEqual(await http(port, '/healthz').then((r) => [r.status, r.body]), [200, 'ok\n']);
  assert.equal((await http(port, '/')).status, 404);
  assert.equal((await http(port, '/metrics/../etc')).status, 404);
  assert.equal((await http(port, '/metrics', 'POST')).status, 405);
  const head = await http(port, '/metrics', 'HEAD');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  // A client holds a session open, so the stop has work to do while we ask.
  const client = await server.client();
  await client.register('dave', PASSWORD);
  const stopped = server.stopServer();
  const during = await http(port, '/healthz');
  assert.equal(during.status, 503);
  await stopped;
  await assert.rejects(http(port, '/healthz'), 'the endpoint is closed once the server has stopped');
});

test('several servers in one process each have their own registry', async (t) => {
  const one = await testServer(t, { metrics: { host: '127.0.0.1', port: 0 } });
  const two = await testServer(t, { metrics: { host: '127.0.0.1', port: 0 } });
  await onlineUser(one, 'erin');
  const [a, b] = await Promise.all([scrape(one), scrape(two)]);
  assert.equal(value(a, 'p2p_registrations_total'), 1);
  assert.equal(value(b, 'p2p_registrations_total'), 0);
});

test('--metrics [host:]port: loopback when only a port is given', () => {
  assert.deepEqual(parseMetricsAddress('9100'), { host: '127.0.0.1', port: 9100 });
  assert.deepEqual(parseMetricsAddress('0'), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseMetricsAddress('0.0.0.0:9100'), { host: '0.0.0.0', port: 9100 });
  assert.deepEqual(parseMetricsAddress('[::1]:9100'), { host: '::1', port: 9100 });
  for (const bad of ['', 'x', '70000', ':9100', '1.2.3.4:', '::1:9100', '-1'])
    assert.throws(() => parseMetricsAddress(bad), RangeError, bad);
});

test('p2p-server --metrics 0 logs where it listens; the port answers', async (t) => {
  const data = await tempDir('metrics');
  defer(t, () => data.remove());
  const server = await spawnServer(['--port', '0', '--data-dir', data.path, '--metrics', '0']);
  defer(t, () => server.kill('SIGKILL'));
  const where = server.listening.metrics as { host: string; port: number };
  assert.equal(where.host, '127.0.0.1');
  assert.ok(where.port > 0);
  assert.equal((await http(where.port, '/healthz')).status, 200);
  assert.match((await http(where.port, '/metrics')).body, /^p2p_sessions_online 0$/m);
});
