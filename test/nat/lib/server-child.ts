/**
 * The real server (startServer, as bin/p2p-server runs it) in a child process inside the lab's
 * internet namespace, with a tap on the relay so the NAT tests can check what it carried.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveCalls } from '../../../bench/lib/ipc.ts';
import { startServer, type ServerApp } from '../../../src/server/app.ts';
import type { RelayLimits } from '../../../src/server/relay/limits.ts';

/** Relayed bytes kept for the plaintext check; beyond, only counted. */
const KEEP_BYTES = 32 * 1024 * 1024;

let app: ServerApp | null = null;
let dataDir = '';
const relayed: Buffer[] = [];
let kept = 0;
let total = 0;
const events: Array<{ event: string; [k: string]: unknown }> = [];

serveCalls({
  async start(args: { host: string; relay?: Partial<RelayLimits> }) {
    dataDir = await mkdtemp(join(tmpdir(), 'p2p-nat-server-'));
    app = await startServer({
      host: args.host,
      port: 0,
      dataDir,
      scryptLogN: 10,
      registrationsPerMinutePerIp: 100_000,
      relay: args.relay,
    });
    app.core.relay.tap = (_from, chunk) => {
      total += chunk.length;
      if (kept < KEEP_BYTES) {
        relayed.push(Buffer.from(chunk));
        kept += chunk.length;
      }
    };
    for (const event of ['relay_ticket', 'relay_refused', 'relay_open', 'relay_closed'] as const) {
      app.core.on(event, (fields) => events.push({ event, ...fields }));
    }
    return { port: app.listening.tcpPort };
  },
  /** How many relayed bytes, and whether any of them contain `text` (UTF-8). */
  relayed(args: { text: string }) {
    return { bytes: total, contains: Buffer.concat(relayed).includes(Buffer.from(args.text)) };
  },
  events() {
    return events;
  },
  circuits() {
    return { open: app?.core.relay.circuitCount ?? 0, pending: app?.core.relay.pendingCount ?? 0 };
  },
  async stop() {
    await app?.stop();
    app = null;
    await rm(dataDir, { recursive: true, force: true });
    return true;
  },
});
