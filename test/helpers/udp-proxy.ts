/**
 * A lossy UDP relay between one client and the server, for tests: the client sends to the
 * proxy (P2PClient option `udpTarget`), the proxy forwards to the server from its own socket
 * and relays the answers back. Each direction drops datagrams with its own probability, from
 * a seeded generator so a failing run can be replayed. It also keeps the datagrams it relayed
 * each way, and can inject any datagram towards the client (forgeries, replays).
 */
import { createSocket, type Socket } from 'node:dgram';

export interface UdpProxyOptions {
  target: { host: string; port: number };
  /** Probability of dropping a client -> server datagram, 0..1. */
  dropUp?: number;
  /** Probability of dropping a server -> client datagram, 0..1. */
  dropDown?: number;
  seed?: number;
}

const MAX_CAPTURED = 256;

/** mulberry32: a small, well-mixed 32-bit PRNG; deterministic for a seed. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class UdpProxy {
  dropUp: number;
  dropDown: number;
  readonly counts = { up: 0, down: 0, droppedUp: 0, droppedDown: 0, injected: 0 };
  /** Datagrams relayed to the client, oldest first (the last MAX_CAPTURED). */
  readonly capturedDown: Buffer[] = [];
  /** Datagrams relayed to the server, oldest first (the last MAX_CAPTURED). */
  readonly capturedUp: Buffer[] = [];
  client: { address: string; port: number } | null = null;
  private readonly random: () => number;

  private constructor(
    private readonly front: Socket,
    private readonly back: Socket,
    private readonly target: { host: string; port: number },
    options: UdpProxyOptions,
  ) {
    this.dropUp = options.dropUp ?? 0;
    this.dropDown = options.dropDown ?? 0;
    this.random = seededRandom(options.seed ?? 1);
    front.on('message', (datagram, rinfo) => {
      this.client = { address: rinfo.address, port: rinfo.port };
      if (this.random() < this.dropUp) {
        this.counts.droppedUp += 1;
        return;
      }
      this.counts.up += 1;
      capture(this.capturedUp, datagram);
      back.send(datagram, this.target.port, this.target.host);
    });
    back.on('message', (datagram) => {
      if (!this.client) return;
      if (this.random() < this.dropDown) {
        this.counts.droppedDown += 1;
        return;
      }
      this.counts.down += 1;
      capture(this.capturedDown, datagram);
      front.send(datagram, this.client.port, this.client.address);
    });
  }

  static async start(options: UdpProxyOptions): Promise<UdpProxy> {
    const [front, back] = await Promise.all([bind(), bind()]);
    return new UdpProxy(front, back, options.target, options);
  }

  /** Where the client should send: pass as `udpTarget`. */
  get address(): { host: string; port: number } {
    return { host: '127.0.0.1', port: this.front.address().port };
  }

  /** Drop everything both ways from now on (a dead path). */
  block(): void {
    this.dropUp = 1;
    this.dropDown = 1;
  }

  /** Send a datagram to the client as if the server had. */
  inject(datagram: Buffer): void {
    if (!this.client) throw new Error('the client has not sent anything through the proxy yet');
    this.counts.injected += 1;
    this.front.send(datagram, this.client.port, this.client.address);
  }

  async close(): Promise<void> {
    await Promise.all([close(this.front), close(this.back)]);
  }
}

function capture(into: Buffer[], datagram: Buffer): void {
  into.push(datagram);
  if (into.length > MAX_CAPTURED) into.shift();
}

function bind(): Promise<Socket> {
  const socket = createSocket('udp4');
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

function close(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve();
    }
  });
}
