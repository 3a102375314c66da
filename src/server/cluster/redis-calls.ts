/**
 * Small helpers shared by the Redis-backed stores: Lua scripts called by SHA (ioredis sends
 * the source once per connection, then EVALSHA), and the one error a node gives when Redis
 * cannot be reached for something that must be shared (PROTOCOL.md section 8, E_UNAVAILABLE).
 */
import type { Redis } from 'ioredis';
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import { REDIS_RECONNECT_MAX_MS } from './link.ts';

/** What a client is told to wait when Redis is unreachable: one reconnect attempt of the link. */
export const UNAVAILABLE_RETRY_AFTER_MS = REDIS_RECONNECT_MAX_MS;

export type LuaCall = (keys: string[], args: Array<string | number>) => Promise<unknown>;

/** A Lua script on this connection, run atomically by Redis. */
export function luaScript(redis: Redis, name: string, source: string): LuaCall {
  // No numberOfKeys: ioredis then takes the key count as the first argument.
  redis.defineCommand(name, { lua: source });
  const command = (redis as unknown as Record<string, (...args: Array<string | number>) => Promise<unknown>>)[name];
  if (!command) throw new Error(`Lua command ${name} was not defined`);
  return (keys, args) => command.call(redis, keys.length, ...keys, ...args);
}

/** Redis did not answer (down, unreachable, timed out): the change was not made, try again soon. */
export function unavailable(
  what: string,
  cause: unknown,
  retryAfterMs: number = UNAVAILABLE_RETRY_AFTER_MS,
): ProtocolError {
  return new ProtocolError(ErrorCode.UNAVAILABLE, `${what}: the cluster's store is unreachable; try again`, {
    cause,
    retryAfterMs,
  });
}
