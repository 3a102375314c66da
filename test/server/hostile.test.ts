/**
 * Hostile input on TCP and UDP (issue 2, "Must be shown"): garbage, oversized, malformed and
 * out-of-state input is answered with a typed error or a closed connection, forged and
 * replayed datagrams are dropped and counted, and afterwards the server still serves a
 * fresh login and users.csv is byte-for-byte what it was before the server started.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FRAME_HEADER_BYTES, MAX_FRAME_BYTES, UDP_HEADER_BYTES, UDP_TAG_BYTES } from '../../src/net/constants.ts';
import { Direction, readHeader, sealDatagram } from '../../src/net/datagram.ts';
import { ErrorCode } from '../../src/net/errors.ts';
import { udpServerMessages, type UdpClientMessage, type UdpServerMessage } from '../../src/net/messages.ts';
import { UdpChannel } from '../../src/net/udp-channel.ts';
import { MAX_INVALID_MESSAGES, MESSAGE_BURST } from '../../src/server/session.ts';
import { CsvUserStore } from '../../src/server/users/csv-store.ts';
import { PasswordHasher } from '../../src/server/users/passwords.ts';
import { rawFrame, RawClient, type ServerError, type Welcome } from '../helpers/raw.ts';
import { startTestServer, tempDir, TEST_SCRYPT_LOG_N, type TestServer } from '../helpers/server.ts';
import { waitFor } from '../helpers/wait.ts';
import { nth } from '../helpers/assert.ts';

const ping = (n: number): UdpClientMessage => ({ t: 'ping', n });
const PASSWORDS = { alice: 'alice-password', bob: 'bob-password', carol: 'carol-password' } as const;

/** A UDP socket that keeps what it receives. */
async function udpSocket(): Promise<{
  socket: UdpSocket;
  port: number;
  received: Buffer[];
  send(d: Buffer, port: number): Promise<void>;
}> {
  const socket = createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (d) => received.push(d));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    socket,
    port: socket.address().port,
    received,
    send: (d, port) =>
      new Promise((resolve, reject) => socket.send(d, port, '127.0.0.1', (err) => (err ? reject(err) : resolve()))),
  };
}

describe('hostile input', () => {
  let dir: { path: string; remove(): Promise<void> };
  let csvBefore: Buffer;
  let server: TestServer;
  const raws: RawClient[] = [];
  const udps: UdpSocket[] = [];

  async function raw(): Promise<RawClient> {
    const client = await RawClient.open(server.port);
    raws.push(client);
    return client;
  }

  before(async () => {
    dir = await tempDir('hostile');
    // The accounts exist before the server starts, so no user ever logs out during the test
    // and nothing legitimate has a reason to rewrite users.csv.
    const store = new CsvUserStore(join(dir.path, 'users.csv'));
    await store.open();
    const hasher = new PasswordHasher({ logN: TEST_SCRYPT_LOG_N });
    for (const [user, pass] of Object.entries(PASSWORDS)) {
      await store.create({ username: user, passwordHash: await hasher.hash(pass), createdAt: Date.now() });
    }
    await store.close();
    csvBefore = await readFile(join(dir.path, 'users.csv'));
    server = await startTestServer({ dataDir: dir.path });
  });

  after(async () => {
    await Promise.all(raws.map((r) => r.close()));
    for (const u of udps) u.close();
    await server?.close();
    await dir?.remove();
  });

  describe('TCP', () => {
    test('an HTTP request (a huge length prefix) gets E_FRAME_TOO_LARGE and is disconnected', async () => {
      const c = await raw();
      c.sendBytes(Buffer.from('GET / HTTP/1.1\r\nHost: localhost\r\n\r\n'));
      await c.waitClosed();
      assert.deepEqual(
        c.errors().map((e) => e.code),
        [ErrorCode.FRAME_TOO_LARGE],
      );
    });

    test('an oversized length prefix is refused before its payload is sent', async () => {
      const c = await raw();
      const header = Buffer.alloc(FRAME_HEADER_BYTES);
      header.writeUInt32BE(MAX_FRAME_BYTES + 1, 0);
      c.sendBytes(header);
      const error = await c.waitFor<ServerError>((m) => m.t === 'error', 'frame too large');
      assert.equal(error.code, ErrorCode.FRAME_TOO_LARGE);
      assert.equal(error.fatal, true);
      await c.waitClosed();
    });

    test('random garbage bytes close the connection, never the server', async () => {
      for (let i = 0; i < 5; i++) {
        const c = await raw();
        const junk = randomBytes(2048);
        junk[0] = 0xff; // a length over the limit, so the outcome is deterministic
        c.sendBytes(junk);
        await c.waitClosed();
      }
    });

    test('a zero-length frame is a bad frame, not a crash', async () => {
      const c = await raw();
      c.sendBytes(Buffer.alloc(FRAME_HEADER_BYTES));
      const error = await c.waitFor<ServerError>((m) => m.t === 'error', 'bad frame');
      assert.equal(error.code, ErrorCode.BAD_FRAME);
      assert.equal(c.closed, false);
    });

    test('invalid JSON, wrong shapes and unknown types get typed errors; too many close the connection', async () => {
      const c = await raw();
      c.sendBytes(rawFrame('{"t":"login",'));
      c.sendBytes(rawFrame('\u0000\u0001\u0002'));
      c.sendBytes(rawFrame('[]'));
      c.sendBytes(rawFrame('{"t":"login","id":1,"proto":1,"user":"alice","pass":5}'));
      c.sendBytes(rawFrame('{"t":"rm -rf /","id":1}'));
      await waitFor(() => c.errors().length === 5, { what: 'five errors' });
      assert.deepEqual(
        c.errors().map((e) => e.code),
        [ErrorCode.BAD_FRAME, ErrorCode.BAD_FRAME, ErrorCode.BAD_FRAME, ErrorCode.BAD_MESSAGE, ErrorCode.UNKNOWN_TYPE],
      );
      // A rejected request that had a valid id is answered under that id, so it fails at once.
      assert.deepEqual(
        c.errors().map((e) => e.re),
        [undefined, undefined, undefined, 1, 1],
      );
      assert.equal(c.closed, false);
      for (let i = 0; i < MAX_INVALID_MESSAGES; i++) c.sendBytes(rawFrame('not json'));
      await c.waitClosed();
      assert.equal(c.errors().at(-1)?.fatal, true);
    });

    test('valid frames out of state: nothing but login or register before authentication', async () => {
      const c = await raw();
      for (const t of ['list_users', 'ping', 'logout']) {
        const id = c.id();
        c.send({ t, id });
        const reply = (await c.reply(id)) as ServerError;
        assert.equal(reply.t, 'error');
        assert.equal(reply.code, ErrorCode.NOT_AUTHENTICATED, t);
      }
      // A second login while the first is still being checked.
      const a = c.id();
      const b = c.id();
      const login = (id: number) =>
        rawFrame(JSON.stringify({ t: 'login', id, proto: 1, user: 'nobody', pass: 'whatever' }));
      c.sendBytes(Buffer.concat([login(a), login(b)])); // one write: both arrive before the first is checked
      assert.equal(((await c.reply(b)) as ServerError).code, ErrorCode.BAD_MESSAGE);
      assert.equal(((await c.reply(a)) as ServerError).code, ErrorCode.AUTH_FAILED);
      assert.equal(c.closed, false);
    });

    test('a login with another protocol version is refused with E_VERSION and closed', async () => {
      const c = await raw();
      c.send({ t: 'login', id: 1, proto: 99, user: 'alice', pass: PASSWORDS.alice });
      const error = await c.waitFor<ServerError>((m) => m.t === 'error', 'version error');
      assert.equal(error.code, ErrorCode.VERSION);
      await c.waitClosed();
      assert.equal(server.app.core.presence.size, 0);
    });

    test('registering names that could break the CSV is refused', async () => {
      const c = await raw();
      for (const user of [
        'a,b',
        '"q"',
        'x\ny',
        '=1+1',
        '@SUM(A1)',
        '../../etc/passwd',
        ' alice',
        'alice ',
        'x'.repeat(33),
      ]) {
        const reply = await c.auth('register', user, 'long enough password');
        assert.equal(reply.t, 'error', JSON.stringify(user));
        assert.equal(reply.code, ErrorCode.BAD_USERNAME, JSON.stringify(user));
      }
      // An empty name fails schema validation: the error cannot name the request it belongs to.
      const errorsBefore = c.errors().length;
      c.send({ t: 'register', id: c.id(), proto: 1, user: '', pass: 'long enough password' });
      await waitFor(() => c.errors().length > errorsBefore, { what: 'error for an empty name' });
      assert.equal(c.errors().at(-1)?.code, ErrorCode.BAD_MESSAGE);
      const taken = await c.auth('register', 'ALICE', 'long enough password');
      assert.equal((taken as ServerError).code, ErrorCode.USERNAME_TAKEN);
    });

    test('a message flood is rate limited', async () => {
      const c = await raw();
      const count = MESSAGE_BURST + 200;
      const frames = Buffer.concat(
        Array.from({ length: count }, (_, i) => rawFrame(JSON.stringify({ t: 'list_users', id: i + 1 }))),
      );
      c.sendBytes(frames);
      await waitFor(() => c.errors().length === count, { what: `${count} answers` });
      const limited = c.errors().filter((e) => e.code === ErrorCode.RATE_LIMITED);
      assert.ok(limited.length > 0, 'some were rate limited');
      assert.ok(limited.every((e) => e.retryAfterMs !== undefined && e.retryAfterMs > 0));
      assert.ok(c.errors().filter((e) => e.code === ErrorCode.NOT_AUTHENTICATED).length < count);
    });

    test('a logged-in flood is rate limited too, and the session survives it', async () => {
      const c = await raw();
      assert.equal((await c.auth('login', 'bob', PASSWORDS.bob)).t, 'welcome');
      const count = MESSAGE_BURST + 200;
      c.sendBytes(
        Buffer.concat(Array.from({ length: count }, (_, i) => rawFrame(JSON.stringify({ t: 'ping', id: 1000 + i })))),
      );
      await waitFor(() => c.received.filter((m) => 're' in m && (m.re ?? 0) >= 1000).length === count, {
        what: 'every ping answered',
      });
      assert.ok(c.errors().some((e) => e.code === ErrorCode.RATE_LIMITED));
      assert.ok(c.received.some((m) => m.t === 'pong'));
      assert.equal(c.closed, false);
    });

    test('a frame cut short by a disconnect is discarded', async () => {
      const c = await raw();
      const frame = rawFrame(
        JSON.stringify({ t: 'register', id: 1, proto: 1, user: 'halfway', pass: 'long enough password' }),
      );
      c.sendBytes(frame.subarray(0, frame.length - 3));
      await c.close();
      await waitFor(() => server.app.core.connectionCount === raws.filter((r) => !r.closed).length, {
        what: 'server drops the connection',
      });
      assert.equal(server.app.core.store.has('halfway'), false);
    });

    test('plain TCP garbage (no TLS) fails the handshake without hurting the server', async () => {
      for (const bytes of [randomBytes(512), Buffer.from('\u0016\u0003\u0001\u0000\u0005hello'), Buffer.alloc(0)]) {
        const socket = tcpConnect(server.port, '127.0.0.1');
        socket.on('error', () => {});
        socket.resume(); // read (and drop) the server's alert, or the end of the stream is never seen
        socket.on('connect', () => socket.end(bytes));
        await new Promise((resolve) => socket.on('close', resolve));
      }
    });
  });

  describe('UDP', () => {
    let victim: RawClient;
    let grant: Welcome['udp'];
    let channel: UdpChannel<typeof udpServerMessages>;
    let owner: Awaited<ReturnType<typeof udpSocket>>;
    let attacker: Awaited<ReturnType<typeof udpSocket>>;
    const udpPort = () => server.app.listening.udpPort;
    const dropped = () => ({ ...server.app.core.udp.dropped });
    const path = () => server.app.core.presence.get('alice')?.udp;

    before(async () => {
      victim = await raw();
      const welcome = await victim.auth('login', 'alice', PASSWORDS.alice);
      assert.equal(welcome.t, 'welcome');
      grant = welcome.udp;
      channel = new UdpChannel(
        Buffer.from(grant.key, 'base64url'),
        Buffer.from(grant.sid, 'base64url'),
        Direction.CLIENT_TO_SERVER,
        udpServerMessages,
      );
      owner = await udpSocket();
      attacker = await udpSocket();
      udps.push(owner.socket, attacker.socket);
    });

    function openReply(d: Buffer): UdpServerMessage | null {
      const header = readHeader(d);
      if (!header) return null;
      const opened = channel.open(d, header);
      return opened.ok ? opened.message : null;
    }

    /** Send in small batches, each counted before the next, so no datagram is lost to a full buffer. */
    async function sendAll(datagrams: Buffer[], counted: () => number): Promise<void> {
      const start = counted();
      for (let i = 0; i < datagrams.length; i += 20) {
        const batch = datagrams.slice(i, i + 20);
        for (const d of batch) await attacker.send(d, udpPort());
        await waitFor(() => counted() >= start + i + batch.length, {
          what: `datagrams ${i}..${i + batch.length} counted`,
        });
      }
      assert.equal(counted(), start + datagrams.length);
    }

    test('the real session key registers the endpoint', async () => {
      await owner.send(channel.seal({ t: 'hello' }), udpPort());
      await waitFor(() => owner.received.length > 0, { what: 'server welcome over UDP' });
      assert.deepEqual(openReply(nth(owner.received, 0, 'datagram')), { t: 'welcome' });
      assert.deepEqual(path()?.endpoint, { address: '127.0.0.1', port: owner.port });
      assert.equal(path()?.state, 'alive');
    });

    test('random bytes are dropped as malformed or unknown-session', async () => {
      const before = dropped();
      const lastHeard = path()?.lastHeardAt;
      const junk = Array.from({ length: 60 }, (_, i) => {
        const d = randomBytes(1 + ((i * 37) % 300));
        if (i % 2 === 0)
          d[0] = 0xee; // not our version byte: malformed
        else if (d.length >= UDP_HEADER_BYTES + UDP_TAG_BYTES) {
          d[0] = 1; // our version, a random session id: unknown session
          d[9] = 0; // and a sequence number below 2^53, else the header itself is malformed
          d[10] = 0;
        } else d[0] = 0xee;
        return d;
      });
      await sendAll(junk, () => {
        const now = dropped();
        return now.malformed + now.unknown_session - before.malformed - before.unknown_session;
      });
      assert.ok(dropped().unknown_session > before.unknown_session);
      assert.equal(path()?.lastHeardAt, lastHeard, 'never acted on');
      assert.equal(attacker.received.length, 0, 'never answered');
    });

    test('datagrams forged with a wrong key or direction are dropped as forged', async () => {
      const before = dropped();
      const sid = Buffer.from(grant.sid, 'base64url');
      const key = Buffer.from(grant.key, 'base64url');
      const forged = [
        ...Array.from({ length: 20 }, (_, i) =>
          sealDatagram(randomBytes(32), sid, Direction.CLIENT_TO_SERVER, 1000 + i, Buffer.from('{"t":"hello"}')),
        ),
        // The right key, but sealed as if by the server: a reflected datagram.
        sealDatagram(key, sid, Direction.SERVER_TO_CLIENT, 5000, Buffer.from('{"t":"hello"}')),
      ];
      await sendAll(forged, () => dropped().forged - before.forged);
      assert.deepEqual(path()?.endpoint, { address: '127.0.0.1', port: owner.port }, 'the endpoint did not move');
      assert.equal(attacker.received.length, 0);
    });

    test('replayed copies of a real sealed datagram are dropped as replayed', async () => {
      const before = dropped();
      const real = channel.seal(ping(1));
      await owner.send(real, udpPort());
      await waitFor(() => owner.received.length >= 2, { what: 'pong' });
      assert.deepEqual(openReply(nth(owner.received, 1, 'datagram')), { t: 'pong', n: 1 });
      const lastHeard = path()?.lastHeardAt;
      // An on-path attacker replays the captured datagram from its own address, many times.
      await sendAll(
        Array.from({ length: 10 }, () => real),
        () => dropped().replayed - before.replayed,
      );
      assert.deepEqual(
        path()?.endpoint,
        { address: '127.0.0.1', port: owner.port },
        'a replay cannot steal the endpoint',
      );
      assert.equal(path()?.lastHeardAt, lastHeard);
      assert.equal(attacker.received.length, 0);
    });

    test('authentic datagrams with a bad payload are dropped as malformed', async () => {
      const before = dropped();
      // Sealed by the real client's channel (a buggy client, say): they authenticate.
      const bad = ['nope', '{"t":"ping"}', '{"t":"welcome"}', '[]'].map((p) => channel.sealPayload(Buffer.from(p)));
      await sendAll(bad, () => dropped().malformed - before.malformed);
      assert.deepEqual(path()?.endpoint, { address: '127.0.0.1', port: owner.port });
      assert.equal(attacker.received.length, 0);
    });

    test('the real client still gets answers', async () => {
      const count = owner.received.length;
      await owner.send(channel.seal(ping(2)), udpPort());
      await waitFor(() => owner.received.length > count, { what: 'pong 2' });
      assert.deepEqual(openReply(nth(owner.received, count, 'datagram')), { t: 'pong', n: 2 });
    });
  });

  test('afterwards: a fresh login works and users.csv is byte-identical', async () => {
    const client = await server.client();
    const session = await client.login('carol', PASSWORDS.carol);
    assert.equal(session.user, 'carol');
    await waitFor(() => client.udpState === 'alive', { what: 'carol UDP alive' });
    assert.deepEqual(await readFile(server.usersCsv), csvBefore);
    assert.deepEqual(
      server.app.core.store
        .list()
        .map((u) => u.username)
        .sort(),
      ['alice', 'bob', 'carol'],
    );
  });
});
