/**
 * A raw TLS client that speaks frames directly: for hostile-input tests, and for load tests
 * that do not need the full client core. Everything it receives is decoded with the real
 * codec and kept in order, so tests can wait for a message or for the server to close.
 */
import { connect, type TLSSocket } from 'node:tls';
import { encodeMessage, MessageDecoder, type Decoded } from '../../src/net/codec.ts';
import { PROTOCOL_VERSION } from '../../src/net/constants.ts';
import { serverMessages, type Msg, type ServerMessage } from '../../src/net/messages.ts';
import { waitFor } from './wait.ts';

export type ServerError = Msg<ServerMessage, 'error'>;
export type Welcome = Msg<ServerMessage, 'welcome'>;

export class RawClient {
  readonly received: ServerMessage[] = [];
  /** Frames from the server that did not decode (the server must never send one). */
  readonly undecodable: Decoded<ServerMessage>[] = [];
  closed = false;
  /** Called with each message as it is decoded (after it is added to `received`). */
  onMessage: ((message: ServerMessage) => void) | null = null;
  private readonly decoder = new MessageDecoder(serverMessages);
  private nextId = 1;

  private constructor(
    readonly socket: TLSSocket,
    read: boolean,
  ) {
    socket.on('error', () => {}); // resets from a server that cut us off are expected here
    socket.on('close', () => {
      this.closed = true;
    });
    if (read) {
      socket.on('data', (chunk: Buffer) =>
        this.decoder.push(chunk, (result) => {
          if (result.ok) {
            this.received.push(result.message);
            this.onMessage?.(result.message);
          } else this.undecodable.push(result);
        }),
      );
    }
  }

  /**
   * Connect over TLS; `read: false` makes a client that never reads a byte; `localAddress`
   * plays another host (127.0.0.2, 127.0.0.3, ...).
   */
  static connect(port: number, options: { read?: boolean; localAddress?: string } = {}): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({
        host: '127.0.0.1',
        port,
        rejectUnauthorized: false,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
      });
      if (options.read === false) socket.pause();
      socket.once('error', reject);
      socket.once('secureConnect', () => {
        socket.off('error', reject);
        resolve(new RawClient(socket, options.read !== false));
      });
    });
  }

  /** Connect and wait for the server's hello. */
  static async open(port: number, options: { localAddress?: string } = {}): Promise<RawClient> {
    const client = await RawClient.connect(port, options);
    await client.waitFor((m) => m.t === 'hello', 'hello');
    return client;
  }

  id(): number {
    return this.nextId++;
  }

  send(message: { t: string; [key: string]: unknown }): boolean {
    return this.socket.write(encodeMessage(message));
  }

  sendBytes(bytes: Buffer): boolean {
    return this.socket.write(bytes);
  }

  /** The first received message (in order) matching `match`; waits for it. */
  waitFor<T extends ServerMessage = ServerMessage>(
    match: (m: ServerMessage) => boolean,
    what: string,
    timeoutMs = 15_000,
  ): Promise<T> {
    return waitFor(() => this.received.find(match) as T | undefined, { what, timeoutMs });
  }

  /** The reply to request `re` (an error or the answer); rejects at once if the connection closes first. */
  async reply(re: number, timeoutMs?: number): Promise<ServerMessage> {
    const find = () => this.received.find((m) => 're' in m && m.re === re);
    await waitFor(() => find() !== undefined || this.closed, { what: `reply to request ${re}`, timeoutMs });
    const reply = find();
    if (!reply) throw new Error(`connection closed before the reply to request ${re}`);
    return reply;
  }

  errors(): ServerError[] {
    return this.received.filter((m): m is ServerError => m.t === 'error');
  }

  /** Send a login or register and wait for its answer (welcome or error). */
  async auth(
    kind: 'login' | 'register',
    user: string,
    pass: string,
    timeoutMs?: number,
  ): Promise<Welcome | ServerError> {
    const id = this.id();
    this.send({ t: kind, id, proto: PROTOCOL_VERSION, user, pass });
    return (await this.reply(id, timeoutMs)) as Welcome | ServerError;
  }

  waitClosed(what = 'server to close the connection', timeoutMs = 15_000): Promise<true> {
    return waitFor(() => this.closed, { what, timeoutMs });
  }

  /** Close our side; waits until the socket is gone. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.socket.end();
    this.socket.destroySoon();
    // A socket that never read may not finish its end handshake: cut it.
    const timer = setTimeout(() => this.socket.destroy(), 1_000);
    try {
      await this.waitClosed('raw client to close', 5_000);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Frame arbitrary payload bytes with a correct length header. */
export function rawFrame(payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const header = Buffer.alloc(4);
  header.writeUInt32BE(body.length, 0);
  return Buffer.concat([header, body]);
}
