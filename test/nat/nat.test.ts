/**
 * Peer chats across a real NAT (PROTOCOL.md section 6.6): the server on the lab's "internet",
 * clients either on it or each behind its own masquerading router (test/helpers/netns.ts).
 * Every client is the real headless core (P2PClient + PeerManager) in its own process in its
 * own namespace; one case drives the real TUI in a pseudo-terminal. Run by `npm run test:nat`
 * (root, ip, nft); skipped with the reason otherwise.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { forkChild, type Child } from '../../bench/lib/ipc.ts';
import { ErrorCode } from '../../src/net/errors.ts';
import { NatLab, netnsAvailable, type Host } from '../helpers/netns.ts';
import { ClientProcess } from '../helpers/pty.ts';
import { Keys, trustAndRegister } from '../helpers/terminal.ts';
import { waitFor } from '../helpers/wait.ts';
import { defer } from '../helpers/cleanup.ts';

const CLIENT = fileURLToPath(new URL('./lib/client-child.ts', import.meta.url));
const SERVER = fileURLToPath(new URL('./lib/server-child.ts', import.meta.url));
const EXEC_ARGV = ['--import', 'tsx'];
/** The relay's per-direction cap for this suite: low, so a flood shows it. */
const RELAY_RATE = 128 * 1024;

const available = netnsAvailable();
const skip = available.ok ? false : `needs root, ip and nft: ${available.why}`;

type Chat = { path: string; code: string; peerIp: string; ms?: number } & { error?: { code: string; message: string } };

let lab: NatLab;
let server: Child;
let port = 0;
const users = new Map<string, { host: Host; child: Child }>();
const children: Child[] = [];

async function join(user: string, host: Host): Promise<void> {
  const child = forkChild(CLIENT, [], EXEC_ARGV, lab.exec(host));
  children.push(child);
  const info = await child.call<{ ip: string }>('start', { host: lab.server.address, port, user });
  // The server sees the router's address for a client behind NAT.
  assert.equal(info.ip, host.publicAddress);
  users.set(user, { host, child });
}

const as = (user: string) => (users.get(user) as { child: Child }).child;

/** `a` asks `b`, `b` accepts; both sides' view of the chat. */
async function chat(a: string, b: string): Promise<{ mine: Chat; theirs: Chat }> {
  const accepted = as(b).call<Chat>('acceptNext');
  const mine = await as(a).call<Chat>('request', { user: b });
  return { mine, theirs: await accepted };
}

before(async () => {
  if (skip) return;
  lab = new NatLab();
  server = forkChild(SERVER, [], EXEC_ARGV, lab.exec(lab.server));
  children.push(server);
  ({ port } = await server.call<{ port: number }>('start', {
    host: lab.server.address,
    relay: { bytesPerSecond: RELAY_RATE, stallTimeoutMs: 2_000 },
  }));
  await join('pia', lab.publicHost());
  await join('pib', lab.publicHost());
  for (const user of ['nadia', 'nbob', 'ncarl', 'ndora', 'nfred']) await join(user, lab.hostBehindNat());
  for (const user of ['sgina', 'shal']) await join(user, lab.hostBehindNat({ silent: true }));
});

after(async () => {
  await Promise.all(children.map((c) => c.call('stop').catch(() => {})));
  await Promise.all(children.map((c) => c.stop()));
  lab?.close();
});

test('both public: direct', { skip }, async () => {
  const { mine, theirs } = await chat('pia', 'pib');
  assert.deepEqual([mine.path, theirs.path], ['direct', 'direct'], JSON.stringify({ mine, theirs }));
  assert.equal(mine.code, theirs.code);
});

test('requester behind NAT, target public: direct', { skip }, async () => {
  const { mine, theirs } = await chat('nadia', 'pib');
  assert.deepEqual([mine.path, theirs.path], ['direct', 'direct'], JSON.stringify({ mine, theirs }));
});

test('target behind NAT, requester public: the target dials back (reverse)', { skip }, async () => {
  const { mine, theirs } = await chat('pia', 'nbob');
  assert.deepEqual([mine.path, theirs.path], ['reverse', 'reverse'], JSON.stringify({ mine, theirs }));
  assert.equal(mine.code, theirs.code);
});

test(
  'both behind NAT: relayed, chat both ways with acks, equal codes, the server relays only ciphertext',
  { skip },
  async (t) => {
    const { mine, theirs } = await chat('nadia', 'nbob');
    assert.deepEqual([mine.path, theirs.path], ['relay', 'relay'], JSON.stringify({ mine, theirs }));
    t.diagnostic(`accept to open relayed chat: ${theirs.ms} ms`);
    assert.equal(mine.code, theirs.code);
    const words = `meet me by the ${randomBytes(6).toString('hex')} tree`;
    await as('nadia').call('send', { text: words });
    assert.equal(await as('nbob').call('nextMessage', { index: 0 }), words);
    const reply = `and bring the ${randomBytes(6).toString('hex')} map`;
    await as('nbob').call('send', { text: reply });
    assert.equal(await as('nadia').call('nextMessage', { index: 0 }), reply);
    for (const text of [words, reply, 'meet me by the', 'bring the']) {
      const seen = await server.call<{ bytes: number; contains: boolean }>('relayed', { text });
      assert.ok(seen.bytes > 0);
      assert.equal(seen.contains, false, `the server relayed "${text}" in clear`);
    }
  },
);

test('both behind NATs that drop rather than refuse: relayed once the direct deadline passed', { skip }, async (t) => {
  const { mine, theirs } = await chat('sgina', 'shal');
  assert.deepEqual([mine.path, theirs.path], ['relay', 'relay'], JSON.stringify({ mine, theirs }));
  assert.equal(mine.code, theirs.code);
  await as('sgina').call('send', { text: 'through two silent routers' });
  assert.equal(await as('shal').call('nextMessage', { index: 0 }), 'through two silent routers');
  t.diagnostic(`accept to open relayed chat behind silent NATs: ${theirs.ms} ms`);
});

test("relay abuse: no token, a spent token, a third user's token", { skip }, async () => {
  const made = await as('ncarl').call<{ error?: { code: string } }>('relayOpen', {
    ticket: randomBytes(16).toString('base64url'),
  });
  assert.equal(made.error?.code, ErrorCode.RELAY_TOKEN_UNKNOWN);
  // nadia's token from the relayed chat above was redeemed by her ladder.
  const grant = await as('nadia').call<{ reqId: string; token: string }>('lastGrant');
  assert.ok(grant.token);
  const again = await as('nadia').call<{ error?: { code: string } }>('relayRequest', grant);
  assert.equal(again.error?.code, ErrorCode.RELAY_TOKEN_SPENT);
  const stolen = await as('ncarl').call<{ error?: { code: string } }>('relayRequest', grant);
  assert.equal(stolen.error?.code, ErrorCode.RELAY_WRONG_USER);
});

test('a flooding sender is held to the relay cap; another relayed chat keeps answering', { skip }, async (t) => {
  const calm = await chat('ncarl', 'ndora');
  assert.equal(calm.mine.path, 'relay');
  const floodMs = 3_000;
  const flooding = as('nadia').call<{ acked: number; ms: number }>('flood', { ms: floodMs });
  const acks: number[] = [];
  for (let i = 0; i < 5; i++)
    acks.push((await as('ncarl').call<{ ackMs: number }>('send', { text: `calm ${i}` })).ackMs);
  const flood = await flooding;
  // The cap: a one-second burst plus the rate over the flood (an upper bound; load only lowers it).
  assert.ok(
    flood.acked <= RELAY_RATE * (flood.ms / 1000 + 1) + 64 * 1024,
    `${flood.acked} bytes acked in ${flood.ms} ms`,
  );
  assert.ok(flood.acked > 0);
  // Each calm message was acknowledged while the flood ran: its circuit was not queued behind it.
  assert.equal(acks.length, 5);
  t.diagnostic(
    `flood: ${flood.acked} B acked in ${Math.round(flood.ms)} ms (cap ${RELAY_RATE} B/s); calm chat ack times: ${acks.map((a) => Math.round(a)).join(', ')} ms`,
  );
});

test('a side that never reads: the relay cuts the circuit as a slow consumer', { skip }, async () => {
  await as('nbob').call('stopReading');
  const flooding = as('nadia').call('flood', { ms: 15_000 });
  const events = await waitFor(
    async () =>
      (await server.call<Array<{ event: string; code?: string; reason?: string }>>('events')).find(
        (e) => e.event === 'relay_closed' && e.code === ErrorCode.SLOW_CONSUMER,
      ),
    { what: 'relay_closed with E_SLOW_CONSUMER', timeoutMs: 30_000 },
  );
  assert.match(String(events.reason), /nbob/);
  await flooding;
  const info = await waitFor(() => as('nadia').call<{ reason: string } | null>('closedInfo'), {
    what: "nadia's chat to end",
  });
  assert.match(info.reason, /server relaying this chat/);
});

test('the real TUI behind NAT: a relayed chat says so in its tab and /info', { skip }, async (t) => {
  const tuiHost = lab.hostBehindNat();
  const tui = await ClientProcess.spawn([lab.server.address, String(port)], { wrap: lab.exec(tuiHost) });
  defer(t, () => tui.kill());
  await trustAndRegister(tui, 'tina', 'tina password', 30_000);
  const accepted = as('nfred').call<Chat>('acceptNext');
  tui.type('/connect nfred\r');
  const theirs = await accepted;
  assert.equal(theirs.path, 'relay');
  await tui.waitForText('new chat: 2 nfred', 30_000);
  tui.type(Keys.alt('a'));
  // The tab title is fitted to its width: "nfred · relay…"; the note says it in full.
  await tui.waitForText(/2 nfred · relay/, 30_000);
  // The tab bar shows that before Alt-A has drawn the tab itself: wait for its note.
  await tui.waitForText(/relayed via the server/, 30_000);
  await tui.waitForText(theirs.code, 30_000); // the same verification code on both sides
  tui.type('/info\r');
  await tui.waitForText(/nfred at 198\.18\.0\.\d+: relayed via the server/);
  tui.type('hello through two NATs\r');
  assert.equal(await as('nfred').call('nextMessage', { index: 0 }), 'hello through two NATs');
  await tui.waitForText(/hello through two NATs {2}✓✓ delivered/);
});
