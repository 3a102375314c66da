/**
 * A real ClientSession, logged in, over an in-memory stream: for unit and contract tests of
 * server features that take sessions (presence), without a ServerCore. What the server
 * writes to it is decoded with the real codec; writes can be held back to play a client
 * that stops reading.
 */
import { FramedConnection } from '../../src/net/connection.ts';
import { clientMessages, type ServerMessage } from '../../src/net/messages.ts';
import { ClientSession, type OnlineSession } from '../../src/server/session.ts';
import { ServerOutput } from './memory-pair.ts';

let nextId = 1;

export class SessionProbe {
  readonly session: OnlineSession;
  private readonly output = new ServerOutput();

  constructor(user: string, ip: string, options: { peerPort?: number; now?: number } = {}) {
    const now = options.now ?? Date.now();
    const conn = new FramedConnection<typeof clientMessages, ServerMessage>(this.output.stream, clientMessages);
    this.session = new ClientSession(nextId++, ip, conn, now).goOnline(user, options.peerPort ?? null, now);
  }

  get received(): readonly ServerMessage[] {
    return this.output.received;
  }

  /** Presence messages received so far. */
  presence(): Extract<ServerMessage, { t: 'presence' }>[] {
    return this.output.received.filter((m): m is Extract<ServerMessage, { t: 'presence' }> => m.t === 'presence');
  }

  hold(): void {
    this.output.hold();
  }

  release(): void {
    this.output.release();
  }

  destroy(): void {
    this.output.stream.destroy();
  }
}
