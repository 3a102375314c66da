/** The real `bin/p2p-server` in a child process, for crash tests (SIGKILL) and benchmarks. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

const ROOT = new URL('../..', import.meta.url).pathname;
const START_TIMEOUT_MS = 20_000;

export interface ServerProcess {
  proc: ChildProcess;
  tcpPort: number;
  udpPort: number;
  /** The `listening` log line, with what the queue loaded (broadcastsPending, broadcastsTorn). */
  listening: Record<string, unknown>;
  /** Every JSON log line so far. */
  lines: Array<Record<string, unknown>>;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** `nodeArgs` go to node itself (a profiler, for instance). */
export async function spawnServer(args: string[], nodeArgs: string[] = []): Promise<ServerProcess> {
  const proc = spawn(process.execPath, [...nodeArgs, 'bin/p2p-server', '--headless', '--host', '127.0.0.1', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    // The server reads P2P_* variables as options (yargs .env): keep the runner's (P2P_TEST) out.
    env: Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('P2P_'))),
  });
  const lines: Array<Record<string, unknown>> = [];
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${stderr}`)), START_TIMEOUT_MS);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${stderr}`));
    });
    createInterface({ input: proc.stdout! }).on('line', (text) => {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text);
      } catch {
        return;
      }
      lines.push(line);
      if (line.event === 'listening') {
        clearTimeout(timer);
        resolve(line);
      }
    });
  });
  return {
    proc,
    tcpPort: listening.tcpPort as number,
    udpPort: listening.udpPort as number,
    listening,
    lines,
    async kill(signal) {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
}
