/**
 * The server's TLS identity: a key and self-signed certificate kept in the data dir and
 * created on first start, or supplied by the operator (--tls-cert/--tls-key). Clients pin
 * its fingerprint on first use, so it must survive restarts.
 */
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { generate } from 'selfsigned';
import { fingerprintOf } from '../net/tls.ts';
import { writeFileAtomic } from '../util/atomic-file.ts';

export interface TlsIdentity {
  key: string;
  cert: string;
  fingerprint: string;
  created: boolean;
}

const CERT_FILE = 'server-cert.pem';
const KEY_FILE = 'server-key.pem';
const VALIDITY_YEARS = 10;

export async function loadOrCreateIdentity(
  dataDir: string,
  supplied?: { certPath?: string; keyPath?: string },
): Promise<TlsIdentity> {
  if (supplied?.certPath || supplied?.keyPath) {
    if (!supplied.certPath || !supplied.keyPath) throw new Error('--tls-cert and --tls-key go together');
    const [cert, key] = await Promise.all([readFile(supplied.certPath, 'utf8'), readFile(supplied.keyPath, 'utf8')]);
    return { cert, key, fingerprint: fingerprintOf(cert), created: false };
  }
  const certPath = join(dataDir, CERT_FILE);
  const keyPath = join(dataDir, KEY_FILE);
  try {
    const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
    return { cert, key, fingerprint: fingerprintOf(cert), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const { cert, key } = await createSelfSigned();
  // Key first: a crash between the two writes leaves no certificate, so the next start makes a fresh pair.
  await writeFileAtomic(keyPath, key, 0o600);
  await writeFileAtomic(certPath, cert, 0o644);
  return { cert, key, fingerprint: fingerprintOf(cert), created: true };
}

export async function createSelfSigned(): Promise<{ cert: string; key: string }> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + VALIDITY_YEARS * 365 * 24 * 3600_000);
  const pems = await generate([{ name: 'commonName', value: `p2p-broadcast ${hostname()}` }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 2, value: hostname() },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
