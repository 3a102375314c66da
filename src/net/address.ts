import { isIP } from 'node:net';

/** '::ffff:127.0.0.1' -> '127.0.0.1', so users see the address they expect. */
export function normalizeIp(address: string | undefined): string {
  if (!address) return '0.0.0.0';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1] : address;
}

export function isIpAddress(text: string): boolean {
  return isIP(text) !== 0;
}
