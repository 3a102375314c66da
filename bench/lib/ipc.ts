/** Request/response over a forked child's IPC channel, for bench orchestration. */
import { fork, type ChildProcess } from 'node:child_process';

export interface Child {
  proc: ChildProcess;
  call<T = unknown>(cmd: string, args?: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

/**
 * `wrap` runs node under a command that execs it, keeping the IPC channel's descriptor:
 * `['ip', 'netns', 'exec', ns]` starts the child inside a network namespace (test/nat/).
 */
export function forkChild(script: string, args: string[] = [], execArgv: string[] = ['--import', 'tsx', '--expose-gc'], wrap: string[] = []): Child {
  const options = wrap.length ? { execPath: wrap[0], execArgv: [...wrap.slice(1), process.execPath, ...execArgv] } : { execArgv };
  const proc = fork(script, args, { ...options, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let next = 1;
  const waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  proc.on('message', (m: any) => {
    const w = waiting.get(m.re);
    if (!w) return;
    waiting.delete(m.re);
    if (m.error) w.reject(new Error(m.error));
    else w.resolve(m.value);
  });
  proc.on('exit', (code) => {
    for (const w of waiting.values()) w.reject(new Error(`${script} exited with ${code}`));
    waiting.clear();
  });
  return {
    proc,
    call(cmd, callArgs = {}) {
      const id = next++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        proc.send({ id, cmd, ...callArgs });
      });
    },
    async stop() {
      if (proc.exitCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** In a child: answer calls with handlers. */
export function serveCalls(handlers: Record<string, (args: any) => unknown | Promise<unknown>>): void {
  process.on('message', async (m: any) => {
    try {
      const handler = handlers[m.cmd];
      if (!handler) throw new Error(`unknown command ${m.cmd}`);
      process.send?.({ re: m.id, value: await handler(m) });
    } catch (err) {
      process.send?.({ re: m.id, error: err instanceof Error ? err.message : String(err) });
    }
  });
}
