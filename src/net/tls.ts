/** TLS helpers shared by both programs: certificate fingerprints (PROTOCOL.md section 3.5). */
import { X509Certificate } from 'node:crypto';

/** SHA-256 of the DER certificate, as colon-separated upper-case hex (95 characters). */
export function fingerprintOf(cert: string | Buffer): string {
  return new X509Certificate(cert).fingerprint256;
}

/** The first and last `bytes` bytes, for status bars and footers: "AB:CD…EF:01". */
export function shortFingerprint(fingerprint: string, bytes = 2): string {
  const parts = fingerprint.split(':');
  return parts.length > 2 * bytes ? `${parts.slice(0, bytes).join(':')}…${parts.slice(-bytes).join(':')}` : fingerprint;
}

export const FINGERPRINT_PATTERN = /^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/;
