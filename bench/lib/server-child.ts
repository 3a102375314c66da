/**
 * Runs one server for a benchmark in its own process: either the real p2p-broadcast server
 * (`real`) or a bare Node TLS server that only holds connections (`bare`, the baseline).
 * Answers IPC calls for memory, event-loop delay and counters.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createServer, type TLSSocket } from 'node:tls';
import { startServer } from '../../src/server/app.ts';
import { heapCensus } from './heap-census.ts';
import { serveCalls } from './ipc.ts';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const loop = monitorEventLoopDelay({ resolution: 1 });
/** Connections (bare) or online sessions (real) held right now. */
let held = (): number => 0;
/** Why sessions of the real server closed, counted (a bench that loses sessions says why). */
const closeReasons: Record<string, number> = {};

async function settledMemory(): Promise<NodeJS.MemoryUsage> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 100));
  }
  return process.memoryUsage();
}

serveCalls({
  async start(args: {
    kind: 'real' | 'bare';
    dataDir: string;
    key?: string;
    cert?: string;
    scryptLogN: number;
    maxConnections: number;
    /** bare: bytes the server writes to each new connection (0: none, an idle socket). */
    exchangeBytes?: number;
    /** real: how long broadcasts live (the soak shortens it to reach a steady state). */
    broadcastTtlMs?: number;
  }) {
    if (args.kind === 'bare') {
      const sockets = new Set<TLSSocket>();
      const server = createServer({ key: args.key, cert: args.cert }, (socket) => {
        sockets.add(socket);
        if (args.exchangeBytes) socket.write(Buffer.alloc(args.exchangeBytes));
        socket.on('data', () => {});
        socket.on('error', () => {});
        socket.on('close', () => sockets.delete(socket));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
      held = () => sockets.size;
      return { port: (server.address() as { port: number }).port };
    }
    const app = await startServer({
      host: '127.0.0.1',
      port: 0,
      dataDir: args.dataDir,
      scryptLogN: args.scryptLogN,
      maxConnections: args.maxConnections,
      registrationsPerMinutePerIp: 1_000_000,
      // The bench writes its held sessions' hashes at a lowered cost on purpose (so 10,000
      // logins take minutes, not half an hour); re-making them at login would measure that.
      rehashOutdated: false,
      ...(args.broadcastTtlMs ? { broadcastTtlMs: args.broadcastTtlMs } : {}),
    });
    held = () => app.core.presence.size;
    app.core.on('disconnect', ({ reason }) => {
      closeReasons[reason] = (closeReasons[reason] ?? 0) + 1;
    });
    return {
      port: app.listening.tcpPort,
      udpPort: app.listening.udpPort,
      key: app.identity.key,
      cert: app.identity.cert,
    };
  },
  memory: () => settledMemory(),
  /** The heap by constructor, after a GC (bench/lib/heap-census.ts). */
  async census() {
    await settledMemory();
    return heapCensus();
  },
  /** For the soak: settled memory, and the libuv resources the process holds, by type. */
  async sample() {
    const memory = await settledMemory();
    const resources: Record<string, number> = {};
    for (const type of process.getActiveResourcesInfo()) resources[type] = (resources[type] ?? 0) + 1;
    return { ...memory, handles: Object.values(resources).reduce((a, b) => a + b, 0), resources, sessions: held() };
  },
  count: () => held(),
  closeReasons: () => closeReasons,
  loopStart() {
    loop.reset();
    loop.enable();
    return true;
  },
  loopStop() {
    loop.disable();
    return { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 };
  },
});

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
