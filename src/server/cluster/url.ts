/** `--cluster` URLs: redis://[user:password@]host[:port][/db], or rediss:// for TLS to Redis. */

export const DEFAULT_REDIS_PORT = 6379;
/** Redis's default number of databases (0-15). */
const MAX_REDIS_DB = 15;

export interface RedisConnection {
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls?: Record<string, never>;
}

/** Throws an Error that names what is wrong (never echoing a password). */
export function parseClusterUrl(text: string): RedisConnection {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error('cluster URL must look like redis://host:port[/db]');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new Error(`cluster URL must start with redis:// or rediss://, not ${url.protocol}//`);
  }
  if (url.hostname === '') throw new Error('cluster URL has no host');
  const port = url.port === '' ? DEFAULT_REDIS_PORT : Number(url.port);
  const path = url.pathname.replace(/^\//, '');
  const db = path === '' ? 0 : Number(path);
  if (!Number.isInteger(db) || db < 0 || db > MAX_REDIS_DB || !/^\d*$/.test(path)) {
    throw new Error(`cluster URL's database must be 0-${MAX_REDIS_DB}`);
  }
  const connection: RedisConnection = { host: url.hostname.replace(/^\[|\]$/g, ''), port, db };
  if (url.username !== '') connection.username = decodeURIComponent(url.username);
  if (url.password !== '') connection.password = decodeURIComponent(url.password);
  if (url.protocol === 'rediss:') connection.tls = {};
  return connection;
}

/** The URL without its password, for logs and the dashboard. */
export function redactClusterUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return '(bad URL)';
  }
}
