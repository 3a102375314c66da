/**
 * What the peer-link and relay benches share: a PeerLink as a Transport (send N messages
 * as fast as backpressure allows, stop the clock at the last ack; one message and its ack as
 * a round trip) and the measurement of one transport at one message size.
 */
import type { PeerLink } from '../../src/client/peer/link.ts';
import { percentile } from './table.ts';

/** Messages queued per turn of the event loop before yielding (the socket's buffer decides the rest). */
export const BURST_BYTES = 256 * 1024;
export const WARMUP_FRACTION = 0.2;

export interface Transport {
  name: string;
  /** Send `count` messages of `payload`; resolve when all are acknowledged. */
  pump(payload: string, count: number): Promise<void>;
  /** One message, wait for its ack; the round trip in microseconds. */
  roundTrip(payload: string): Promise<number>;
  close(): void;
}

export const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

export function peerTransport(link: PeerLink): Transport {
  let waiter: { upTo: number; resolve: () => void } | null = null;
  link.on('delivered', (upTo) => {
    if (waiter && upTo >= waiter.upTo) {
      const w = waiter;
      waiter = null;
      w.resolve();
    }
  });
  const acked = (upTo: number) =>
    upTo <= link.lastDeliveredId ? Promise.resolve() : new Promise<void>((resolve) => (waiter = { upTo, resolve }));
  return {
    name: 'PeerLink (JSON, acks, sanitise)',
    async pump(payload, count) {
      const last = link.lastSentId + count;
      const done = acked(last);
      let sent = 0;
      const burst = Math.max(1, Math.floor(BURST_BYTES / payload.length));
      while (sent < count) {
        for (let i = 0; i < burst && sent < count; i++, sent++) link.send(payload);
        if (!link.writable) await new Promise<void>((resolve) => link.once('drain', resolve));
        else await nextTurn();
      }
      await done;
    },
    async roundTrip(payload) {
      const started = process.hrtime.bigint();
      await acked(link.send(payload));
      return Number(process.hrtime.bigint() - started) / 1e3;
    },
    close: () => link.close('bench done'),
  };
}

export interface Size {
  label: string;
  bytes: number;
  count: number;
  rtts: number;
}

export interface Row {
  size: string;
  transport: string;
  msgsPerSec: number;
  mbPerSec: number;
  p50: number;
  p99: number;
}

export async function measure(t: Transport, size: Size, payload: string): Promise<Row> {
  await t.pump(payload, Math.ceil(size.count * WARMUP_FRACTION));
  for (let i = 0; i < size.rtts * WARMUP_FRACTION; i++) await t.roundTrip(payload);
  const started = process.hrtime.bigint();
  await t.pump(payload, size.count);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const rtts: number[] = [];
  for (let i = 0; i < size.rtts; i++) rtts.push(await t.roundTrip(payload));
  rtts.sort((a, b) => a - b);
  return {
    size: size.label,
    transport: t.name,
    msgsPerSec: size.count / seconds,
    mbPerSec: (size.count * size.bytes) / seconds / 1e6,
    p50: percentile(rtts, 50),
    p99: percentile(rtts, 99),
  };
}
