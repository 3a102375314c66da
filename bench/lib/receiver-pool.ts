/**
 * The driver side of bench/lib/fanout-receiver.ts for bench/cluster.ts: a few worker
 * processes, each holding many receivers logged in to the nodes given, and the receipts of a
 * broadcast gathered from all of them.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { WorkerCommand, WorkerReport } from './fanout-receiver.ts';

type Report<T extends WorkerReport['type']> = Extract<WorkerReport, { type: T }>;

class ReceiverWorker {
  private readonly proc: ChildProcess;
  private readonly reports: WorkerReport[] = [];
  private wake: () => void = () => {};

  constructor() {
    this.proc = fork(new URL('./fanout-receiver.ts', import.meta.url).pathname, [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.proc.on('message', (report: WorkerReport) => {
      if (report.type === 'error') process.stderr.write(`# worker error: ${report.message}\n`);
      else if (report.type !== 'progress') this.reports.push(report);
      this.wake();
    });
  }

  send(command: WorkerCommand): void {
    this.proc.send(command);
  }

  /** The first report of `type` (and `key`, for receipts) by the deadline, or null. */
  async next<T extends WorkerReport['type']>(type: T, deadline: number, key?: string): Promise<Report<T> | null> {
    for (;;) {
      const i = this.reports.findIndex((r) => r.type === type && (key === undefined || ('key' in r && r.key === key)));
      if (i >= 0) return this.reports.splice(i, 1)[0] as Report<T>;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.proc.once('exit', resolve));
    this.send({ cmd: 'close' });
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    this.proc.kill('SIGKILL');
  }
}

export class ReceiverPool {
  private readonly workers: ReceiverWorker[];

  constructor(count: number) {
    this.workers = Array.from({ length: count }, () => new ReceiverWorker());
  }

  /**
   * Log in `users[node]` on each node's port, spread over the workers; resolves with the
   * receivers logged in and UDP-registered.
   */
  async login(
    ports: number[],
    users: string[][],
    pass: string,
    concurrency: number,
    timeoutMs: number,
  ): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    let held = 0;
    for (const [node, port] of ports.entries()) {
      const names = users[node] ?? [];
      this.workers.forEach((w, i) =>
        w.send({
          cmd: 'login',
          host: '127.0.0.1',
          port,
          users: names.filter((_, j) => j % this.workers.length === i),
          pass,
          concurrency,
        }),
      );
      const ready = await Promise.all(this.workers.map((w) => w.next('ready', deadline)));
      if (ready.some((r) => r === null)) throw new Error(`logins on node ${node + 1} did not finish in time`);
      held = ready.reduce((n, r) => n + (r?.receivers ?? 0), 0); // each worker's count so far
    }
    return held;
  }

  /** Receipt times (hrtime ns) of `key` from every receiver that had it by the deadline. */
  async receipts(key: string, deadline: number): Promise<number[]> {
    const parts = await Promise.all(
      this.workers.map(async (w) => {
        const complete = await w.next('complete', deadline, key);
        if (complete) return complete.times;
        w.send({ cmd: 'collect', key });
        return (await w.next('partial', Date.now() + 5_000, key))?.times ?? [];
      }),
    );
    return parts.flat();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}
