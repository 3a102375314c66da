/**
 * The monitoring endpoint (README "Monitoring"): `/metrics` (Prometheus text format) and
 * `/healthz` (200 while serving, 503 once the server is stopping) over plain HTTP on its own
 * port. Only GET and HEAD; anything else is 404 or 405. Nothing it serves is secret, but it
 * is meant for a monitoring network: with only a port given it listens on loopback.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServerMetrics } from './metrics.ts';

/** A scraper that has not sent its request line and headers in this long is cut off. */
export const METRICS_HEADERS_TIMEOUT_MS = 5_000;
export const METRICS_REQUEST_TIMEOUT_MS = 10_000;
/** Scrapers are few; more open connections than this are refused by the OS listener. */
export const METRICS_MAX_CONNECTIONS = 32;
export const METRICS_DEFAULT_HOST = '127.0.0.1';

export interface MetricsAddress {
  host: string;
  port: number;
}

export interface MetricsEndpoint {
  /** Where it listens (the real port when 0 was asked for). */
  readonly address: MetricsAddress;
  close(): Promise<void>;
}

/**
 * `--metrics [host:]port`: `9100`, `0.0.0.0:9100`, `[::1]:9100`. Throws a RangeError the
 * command line shows as is.
 */
export function parseMetricsAddress(value: string): MetricsAddress {
  const text = value.trim();
  const match = /^(?:\[([0-9a-fA-F:.]+)\]:|([^:[\]]+):)?(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || !Number.isInteger(port) || port > 65535)
    throw new RangeError(`--metrics takes [host:]port (port 0-65535), not "${value}"`);
  return { host: match[1] ?? match[2] ?? METRICS_DEFAULT_HOST, port };
}

export async function serveMetrics(
  metrics: Pick<ServerMetrics, 'scrape' | 'contentType'>,
  address: MetricsAddress,
  isStopping: () => boolean,
): Promise<MetricsEndpoint> {
  const server = createServer((req, res) => void answer(req, res));
  server.headersTimeout = METRICS_HEADERS_TIMEOUT_MS;
  server.requestTimeout = METRICS_REQUEST_TIMEOUT_MS;
  server.maxConnections = METRICS_MAX_CONNECTIONS;

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.resume(); // a body is never read: drain it, whatever it is
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' && path !== '/healthz') return send(res, 404, 'not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return send(res, 405, 'method not allowed\n');
    }
    if (path === '/healthz') return isStopping() ? send(res, 503, 'stopping\n') : send(res, 200, 'ok\n');
    try {
      send(res, 200, await metrics.scrape(), metrics.contentType);
    } catch (err) {
      send(res, 500, `${err instanceof Error ? err.message : String(err)}\n`);
    }
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  return {
    address: { host: bound.address, port: bound.port },
    close: () => close(server),
  };
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections(); // a scraper's keep-alive must not hold the stop up
  });
}
