/**
 * Backpressure (PROTOCOL.md section 3.3): a client that sends requests but never reads the
 * replies cannot make the server buffer without bound. The server either stops reading from
 * it or cuts it off with E_SLOW_CONSUMER; either way its pending output for that client
 * never exceeds OUTPUT_QUEUE_BYTES.SERVER_DISCONNECT.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { OUTPUT_QUEUE_BYTES } from '../../src/net/constants.ts';
import { ErrorCode } from '../../src/net/errors.ts';
import type { ClientSession } from '../../src/server/session.ts';
import { rawFrame, RawClient } from '../helpers/raw.ts';
import { testServer } from '../helpers/server.ts';
import { defer } from '../helpers/cleanup.ts';
import { waitFor } from '../helpers/wait.ts';
import { nth } from '../helpers/assert.ts';

/** Far more than every kernel buffer on the path (4 MB send + 6 MB receive at most here). */
const MAX_INPUT_BYTES = 256 * 1024 * 1024;

async function flood(
  client: RawClient,
  session: ClientSession,
  frame: (i: number) => Buffer,
): Promise<{ written: number; maxPending: number }> {
  let maxPending = 0;
  const sampler = setInterval(() => {
    maxPending = Math.max(maxPending, session.conn.pendingOutputBytes);
  }, 2);
  let written = 0;
  let next = 0;
  const serverPaused = () => session.conn.stream.isPaused();
  const done = () => client.closed || session.isClosed;
  try {
    while (!done() && written < MAX_INPUT_BYTES) {
      const batch = Buffer.concat(Array.from({ length: 1000 }, () => frame(++next)));
      written += batch.length;
      if (!client.socket.write(batch)) {
        // Our own send buffer is full: wait until it drains, or the server stopped reading
        // from us (then it never will), or one side closed.
        await waitFor(() => client.socket.writableLength === 0 || done() || serverPaused(), {
          what: 'the flood to drain, stall or end',
          timeoutMs: 60_000,
          intervalMs: 2,
        });
        if (serverPaused() && client.socket.writableLength > 0) break;
      }
    }
    maxPending = Math.max(maxPending, session.conn.pendingOutputBytes);
    return { written, maxPending };
  } finally {
    clearInterval(sampler);
  }
}

async function expectBounded(t: TestContext, login: boolean): Promise<void> {
  const server = await testServer(t);
  const reasons: string[] = [];
  server.app.core.on('disconnect', (e) => reasons.push(e.reason));
  let helper: RawClient | null = null;
  defer(t, () => helper?.close());
  const client = await RawClient.connect(server.port, { read: false });
  defer(t, () => client.socket.destroy());
  if (login) {
    // Register on this very connection; the welcome simply stays unread.
    client.send({ t: 'register', id: 1, proto: 1, user: 'sloth', pass: 'sloth-password' });
    await waitFor(() => server.app.core.presence.size === 1, { what: 'sloth online' });
    helper = await RawClient.open(server.port);
  }
  await waitFor(() => server.app.core.connectionCount >= 1, { what: 'the server to see the connection' });
  const session = nth([...server.app.core.allSessions()], 0, 'session');
  const frame = (i: number) =>
    rawFrame(JSON.stringify(login ? { t: 'ping', id: i % 2 ** 31 } : { t: 'list_users', id: i % 2 ** 31 }));
  const { written, maxPending } = await flood(client, session, frame);

  assert.ok(written < MAX_INPUT_BYTES, `the server kept reading ${written} bytes without limit`);
  assert.ok(maxPending <= OUTPUT_QUEUE_BYTES.SERVER_DISCONNECT, `pending output reached ${maxPending} bytes`);
  if (session.isClosed) {
    await waitFor(() => reasons.length > 0, { what: 'disconnect event' });
    assert.equal(reasons[0], ErrorCode.SLOW_CONSUMER);
  } else {
    assert.equal(session.conn.stream.isPaused(), true, 'the server stopped reading');
    assert.ok(session.conn.pendingOutputBytes <= OUTPUT_QUEUE_BYTES.SERVER_DISCONNECT);
  }
  // Other clients are unaffected.
  const probe = helper ?? (await RawClient.open(server.port));
  helper = probe;
  assert.equal((await probe.auth('register', 'busy_bee', 'bee-password')).t, 'welcome');
}

test('an unauthenticated client that floods and never reads is bounded', (t) => expectBounded(t, false));

test('a logged-in client that pings and never reads is bounded', (t) => expectBounded(t, true));
