/**
 * Redis figures for bench/cluster.ts: command counts from `INFO commandstats` (what the nodes
 * asked of Redis between two snapshots), and Redis's own speed here from `redis-benchmark`,
 * for the paper estimate of how many users one Redis serves.
 */
import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';

/** calls per command name (lower case), e.g. { hset: 120, publish: 30 }. */
export type CommandCounts = Map<string, number>;

/** The commands the bench's own probe sends, never counted as the nodes'. */
const PROBE_COMMANDS = new Set(['info', 'client|setname', 'client', 'hello', 'select', 'ping']);

export class RedisProbe {
  private readonly redis: Redis;

  constructor(port: number) {
    this.redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, enableOfflineQueue: true });
  }

  async snapshot(): Promise<CommandCounts> {
    const text = await this.redis.info('commandstats');
    const counts: CommandCounts = new Map();
    for (const line of text.split('\n')) {
      const match = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
      if (match && !PROBE_COMMANDS.has(match[1] as string)) counts.set(match[1] as string, Number(match[2]));
    }
    return counts;
  }

  close(): void {
    this.redis.disconnect();
  }
}

export function difference(after: CommandCounts, before: CommandCounts): CommandCounts {
  const diff: CommandCounts = new Map();
  for (const [name, calls] of after) {
    const delta = calls - (before.get(name) ?? 0);
    if (delta > 0) diff.set(name, delta);
  }
  return diff;
}

export function total(counts: CommandCounts): number {
  let sum = 0;
  for (const calls of counts.values()) sum += calls;
  return sum;
}

/** "hset 3.0, publish 1.0" per unit, the largest first. */
export function describeMix(counts: CommandCounts, per: number): string {
  if (per <= 0 || counts.size === 0) return '-';
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([name, calls]) => `${name} ${(calls / per).toFixed(1)}`)
    .join(', ');
}

/** redis-benchmark's `-t` names it can run, and the one it stands for in commandstats. */
const BENCHMARKED = ['set', 'get', 'incr', 'sadd', 'hset', 'lpush', 'zadd', 'xadd'] as const;

/** Requests per second per command, from `redis-benchmark -q --csv` against the given port. */
export function redisBenchmark(port: number, requests: number): Map<string, number> {
  const run = spawnSync(
    'redis-benchmark',
    [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-q',
      '--csv',
      '-n',
      String(requests),
      '-c',
      '50',
      '-t',
      BENCHMARKED.join(','),
    ],
    { encoding: 'utf8', timeout: 120_000 },
  );
  const rates = new Map<string, number>();
  for (const line of (run.stdout ?? '').split('\n')) {
    // "SET","123456.79",... (the header row has "test")
    const match = /^"([A-Z]+)[^"]*","([\d.]+)"/.exec(line);
    if (match) rates.set((match[1] as string).toLowerCase(), Number(match[2]));
  }
  return rates;
}

/**
 * Commands per second one Redis runs of this mix: each command at its measured rate where
 * redis-benchmark measured it, others (Lua, MULTI/EXEC, PUBLISH) at the slowest measured rate.
 */
export function mixRate(mix: CommandCounts, rates: Map<string, number>): number {
  const slowest = Math.min(...rates.values());
  const calls = total(mix);
  if (calls === 0 || !Number.isFinite(slowest)) return slowest;
  let seconds = 0;
  for (const [name, n] of mix) seconds += n / (rates.get(name) ?? slowest);
  return calls / seconds;
}
