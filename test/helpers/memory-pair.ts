/**
 * A client connection to a ServerCore over an in-memory stream (no sockets), as aedes tests
 * its broker: the server side is a real Duplex whose writes can be held back, to play a
 * client that stops reading; the client side decodes with the real codec.
 */
import { Duplex } from 'node:stream';
import { encodeMessage, MessageDecoder } from '../../src/net/codec.ts';
import { PROTOCOL_VERSION } from '../../src/net/constants.ts';
import { serverMessages, type ServerMessage, type UserEntry } from '../../src/net/messages.ts';
import type { ServerCore } from '../../src/server/server.ts';
import { waitFor } from './wait.ts';

/**
 * The server's end of an in-memory connection: a Duplex whose writes are decoded with the
 * real codec into `received`, and can be held back (a client that stops reading).
 */
export class ServerOutput {
  readonly stream: Duplex;
  private readonly decoder = new MessageDecoder(serverMessages);
  private readonly held: Array<() => void> = [];
  private holding = false;

  constructor(readonly received: ServerMessage[] = []) {
    this.stream = new Duplex({
      read() {},
      write: (chunk: Buffer, _encoding, done) => {
        const deliver = () => {
          this.decoder.push(chunk, (r) => {
            if (r.ok) this.received.push(r.message);
          });
          done();
        };
        if (this.holding) this.held.push(deliver);
        else deliver();
      },
    });
  }

  hold(): void {
    this.holding = true;
  }

  release(): void {
    this.holding = false;
    for (const deliver of this.held.splice(0)) deliver();
  }
}

export class MemoryClient {
  readonly received: ServerMessage[] = [];
  private readonly output: ServerOutput;
  private nextId = 1;
  readonly stream: Duplex;

  constructor(core: ServerCore, ip = '10.0.0.1') {
    this.output = new ServerOutput(this.received);
    this.stream = this.output.stream;
    core.handle(this.stream, ip);
  }

  send(message: { t: string; [key: string]: unknown }): number {
    const id = this.nextId++;
    this.stream.push(encodeMessage({ ...message, id }));
    return id;
  }

  async register(user: string, pass = 'password-123'): Promise<void> {
    const id = this.send({ t: 'register', proto: PROTOCOL_VERSION, user, pass });
    const reply = await waitFor(() => this.received.find((m) => 're' in m && m.re === id), {
      what: `reply to ${user}'s register`,
    });
    if (reply.t !== 'welcome') throw new Error(`register ${user}: ${JSON.stringify(reply)}`);
  }

  /** Stop taking the server's output (like a client that stops reading). */
  hold(): void {
    this.output.hold();
  }

  release(): void {
    this.output.release();
  }

  /** The user list as a client builds it from welcome and presence (PROTOCOL.md 4.5). */
  users(): Map<string, string> {
    const list = new Map<string, string>();
    for (const m of this.received) {
      if (m.t === 'welcome') list.clear();
      else if (m.t === 'presence') {
        if (m.reset) list.clear();
        for (const name of m.left) list.delete(name);
        for (const u of m.joined) list.set(u.user, u.ip);
      }
    }
    return list;
  }
}

export const asMap = (entries: readonly UserEntry[]): Map<string, string> =>
  new Map(entries.map((u) => [u.user, u.ip]));
