/** TLS helpers shared by both programs: certificate fingerprints (PROTOCOL.md section 3.5). */
import { X509Certificate } from 'node:crypto';

/** SHA-256 of the DER certificate, as colon-separated upper-case hex (95 characters). */
export function fingerprintOf(cert: string | Buffer): string {
  return new X509Certificate(cert).fingerprint256;
}

/** The first 8 bytes, for status bars: "AB:CD:EF:01:23:45:67:89". */
export function shortFingerprint(fingerprint: string): string {
  return fingerprint.split(':').slice(0, 8).join(':');
}

export const FINGERPRINT_PATTERN = /^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/;
