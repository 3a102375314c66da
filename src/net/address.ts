import { isIP } from 'node:net';

const MAPPED_V4 = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/**
 * One text per address, so that two spellings of it compare equal (section 6.1): IPv6 in
 * its canonical compressed lower-case form ('0:0:0:0:0:0:0:1' -> '::1'), and IPv4-mapped
 * IPv6 as plain IPv4 ('::ffff:127.0.0.1' -> '127.0.0.1'), the address users expect.
 */
export function normalizeIp(address: string | undefined): string {
  if (!address) return '0.0.0.0';
  if (isIP(address) !== 6) return address;
  let canonical: string;
  try {
    // The WHATWG URL parser serialises IPv6 hosts canonically (RFC 5952).
    canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  } catch {
    return address.toLowerCase(); // a zone id ('fe80::1%eth0') is not a URL host
  }
  const [, hiHex, loHex] = MAPPED_V4.exec(canonical) ?? [];
  if (hiHex === undefined || loHex === undefined) return canonical;
  const [hi, lo] = [parseInt(hiHex, 16), parseInt(loHex, 16)];
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
}

export function isIpAddress(text: string): boolean {
  return isIP(text) !== 0;
}
