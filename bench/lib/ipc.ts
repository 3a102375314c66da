/** Request/response over a forked child's IPC channel, for bench orchestration. */
import { fork, type ChildProcess } from 'node:child_process';

/** Parent to child: the call's arguments spread beside its id and command. */
export type CallMessage = { id: number; cmd: string } & Record<string, unknown>;
/** Child to parent: the answer to call `re`, its value or an error message. */
export interface ReplyMessage {
  re: number;
  value?: unknown;
  error?: string;
}

/**
 * A command handler. Its argument crosses a process boundary untyped: each handler declares the
 * shape its caller sends (a `never` parameter admits any declared shape) and serveCalls trusts it.
 */
export type Handler = (args: never) => unknown;

export interface Child {
  proc: ChildProcess;
  call<T = unknown>(cmd: string, args?: Record<string, unknown>): Promise<T>;
  stop(): Promise<void>;
}

/**
 * `wrap` runs node under a command that execs it, keeping the IPC channel's descriptor:
 * `['ip', 'netns', 'exec', ns]` starts the child inside a network namespace (test/nat/).
 */
export function forkChild(
  script: string,
  args: string[] = [],
  execArgv: string[] = ['--import', 'tsx', '--expose-gc'],
  wrap: string[] = [],
): Child {
  const options = wrap.length
    ? { execPath: wrap[0], execArgv: [...wrap.slice(1), process.execPath, ...execArgv] }
    : { execArgv };
  const proc = fork(script, args, { ...options, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let next = 1;
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  proc.on('message', (m: ReplyMessage) => {
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
    call<T>(cmd: string, callArgs: Record<string, unknown> = {}): Promise<T> {
      const id = next++;
      return new Promise<T>((resolve, reject) => {
        // The caller names the type the child's handler returns (see Handler).
        waiting.set(id, { resolve: (v) => resolve(v as T), reject });
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
export function serveCalls(handlers: Record<string, Handler>): void {
  const answer = async (m: CallMessage): Promise<void> => {
    try {
      const handler = handlers[m.cmd] as ((args: CallMessage) => unknown) | undefined;
      if (!handler) throw new Error(`unknown command ${m.cmd}`);
      process.send?.({ re: m.id, value: await handler(m) } satisfies ReplyMessage);
    } catch (err) {
      process.send?.({ re: m.id, error: err instanceof Error ? err.message : String(err) } satisfies ReplyMessage);
    }
  };
  process.on('message', (m: CallMessage) => void answer(m));
}
