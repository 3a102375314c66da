/**
 * The server of bench/relay.ts in its own process (a relay gets its own core in production
 * too): the real app, with limits raised so the bench measures the relay, not its caps. Answers
 * IPC calls for CPU time, relayed bytes and settled memory.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, type ServerApp } from '../../src/server/app.ts';
import { serveCalls } from './ipc.ts';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
let app: ServerApp | null = null;
let dataDir = '';
let relayed = 0;

serveCalls({
  async start() {
    dataDir = await mkdtemp(join(tmpdir(), 'p2p-bench-relay-'));
    app = await startServer({
      host: '127.0.0.1',
      port: 0,
      dataDir,
      scryptLogN: 10,
      registrationsPerMinutePerIp: 1_000_000,
      peers: { requestsPerMinute: 1_000_000, maxPendingPerRequester: 1_000_000, maxPromptsPerTarget: 1_000_000 },
      relay: {
        maxCircuits: 10_000,
        maxCircuitsPerUser: 10_000,
        bytesPerSecond: 1024 ** 3,
        pairTimeoutMs: 120_000,
        ticketTtlMs: 120_000,
        tokenTtlMs: 120_000,
      },
    });
    app.core.relay.tap = (_from, chunk) => (relayed += chunk.length);
    return { port: app.listening.tcpPort };
  },
  cpu() {
    const u = process.cpuUsage();
    return { us: u.user + u.system, relayed };
  },
  async memory() {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 100));
    }
    const m = process.memoryUsage();
    return { rss: m.rss, heapUsed: m.heapUsed, external: m.external, circuits: app?.core.relay.circuitCount ?? 0 };
  },
  async stop() {
    await app?.stop();
    await rm(dataDir, { recursive: true, force: true });
    return true;
  },
});
