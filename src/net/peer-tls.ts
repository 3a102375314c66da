/**
 * Peer link security, shared by both ends (PROTOCOL.md sections 6.2 and 6.3): TLS 1.3 with
 * an external pre-shared key and no certificate. The PSK is derived from the one-time secret
 * the server hands both peers; the handshake still runs an (EC)DHE key share (psk_dhe_ke,
 * OpenSSL's only mode unless SSL_OP_ALLOW_NO_DHE_KEX is set), so a secret that leaks later
 * does not decrypt recorded traffic. The verification code comes from the TLS exporter: it is
 * the same on both ends only if both ends hold the same TLS session, which a server that
 * handed out two different secrets to sit in the middle cannot arrange.
 */
import { hkdfSync } from 'node:crypto';
import type { ConnectionOptions, TlsOptions, TLSSocket } from 'node:tls';
import { ErrorCode, ProtocolError } from './errors.ts';

export const PEER_KDF_INFO = 'p2p-broadcast peer-link v1';
export const PEER_VERIFY_LABEL = 'EXPORTER-p2p-broadcast-verify';
export const PEER_KEY_BYTES = 32;
/**
 * An external PSK fixes the handshake hash to SHA-256, so only the two SHA-256 suites can be
 * negotiated. AES-128-GCM first: on CPUs with AES instructions it is the faster of the two.
 */
export const PEER_TLS_CIPHERSUITES = 'TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256';
export const PEER_TLS_VERSION = 'TLSv1.3';
/** Bytes taken from the exporter for the code; 64 bits reduced to 12 decimal digits. */
const VERIFY_EXPORT_BYTES = 8;
const VERIFY_CODE_DIGITS = 12;
const VERIFY_GROUP_DIGITS = 4;
const EMPTY_CONTEXT = Buffer.alloc(0);
/** TLS-PSK identities longer than this are not ours (reqId is 32 hex characters). */
export const MAX_PSK_IDENTITY_CHARS = 64;

/** key = HKDF-SHA256(ikm = secret, salt = ASCII bytes of reqId, info = PEER_KDF_INFO), 32 bytes. */
export function derivePeerKey(secret: Buffer, reqId: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.from(reqId, 'ascii'), PEER_KDF_INFO, PEER_KEY_BYTES));
}

/**
 * Listener side. `lookup` answers the client's PSK identity with its key, or null: then
 * OpenSSL falls back to certificate authentication, which this server cannot do (it has no
 * certificate), so the handshake fails at once with an alert.
 */
export function peerServerOptions(
  lookup: (socket: TLSSocket, identity: string) => Buffer | null,
  handshakeTimeoutMs: number,
): TlsOptions {
  return {
    minVersion: PEER_TLS_VERSION,
    maxVersion: PEER_TLS_VERSION,
    ciphers: PEER_TLS_CIPHERSUITES,
    handshakeTimeout: handshakeTimeoutMs,
    pskCallback: (socket: TLSSocket, identity: string) => {
      if (identity.length > MAX_PSK_IDENTITY_CHARS) return null;
      return lookup(socket, identity);
    },
  };
}

/** Dialer side: offer exactly one PSK, named by reqId. */
export function peerClientOptions(host: string, port: number, reqId: string, key: Buffer): ConnectionOptions {
  return {
    host,
    port,
    minVersion: PEER_TLS_VERSION,
    maxVersion: PEER_TLS_VERSION,
    ciphers: PEER_TLS_CIPHERSUITES,
    pskCallback: () => ({ psk: key, identity: reqId }),
    // There is no certificate to check: the PSK is the authentication. assertPskSession()
    // makes sure no certificate-based session slipped through instead.
    checkServerIdentity: () => undefined,
  };
}

/**
 * After the handshake: refuse anything but a TLS 1.3 session keyed by our PSK. A listener
 * that presented a certificate did not know the key (a certificate handshake is what OpenSSL
 * falls back to), whatever CA signed it.
 */
export function assertPskSession(socket: TLSSocket): void {
  const protocol = socket.getProtocol();
  if (protocol !== PEER_TLS_VERSION) {
    throw new ProtocolError(
      ErrorCode.PEER_HANDSHAKE,
      `peer negotiated ${protocol ?? 'no protocol'}, not ${PEER_TLS_VERSION}`,
    );
  }
  const cert = socket.getPeerCertificate();
  if (cert && Object.keys(cert).length > 0) {
    throw new ProtocolError(
      ErrorCode.PEER_HANDSHAKE,
      'peer authenticated with a certificate instead of the session key',
    );
  }
}

/**
 * The code both users may compare out of band: 12 digits in groups of 4 ("0381 4472 9015"),
 * from 8 bytes of the TLS exporter (RFC 8446 section 7.5) with label PEER_VERIFY_LABEL and an
 * empty context. About 40 bits: enough that a man in the middle cannot make two sessions agree.
 */
export function verificationCode(socket: TLSSocket): string {
  // In TLS 1.3 an empty context and no context give the same value (RFC 8446 section 7.5).
  const material = socket.exportKeyingMaterial(VERIFY_EXPORT_BYTES, PEER_VERIFY_LABEL, EMPTY_CONTEXT);
  const value = material.readBigUInt64BE(0) % 10n ** BigInt(VERIFY_CODE_DIGITS);
  const digits = value.toString().padStart(VERIFY_CODE_DIGITS, '0');
  const groups: string[] = [];
  for (let i = 0; i < VERIFY_CODE_DIGITS; i += VERIFY_GROUP_DIGITS)
    groups.push(digits.slice(i, i + VERIFY_GROUP_DIGITS));
  return groups.join(' ');
}

export interface LinkSecurity {
  protocol: string;
  cipher: string;
  /** The (EC)DHE group of the key share, e.g. "X25519"; only the dialing side can see it. */
  keyExchange: string | null;
}

export function linkSecurity(socket: TLSSocket): LinkSecurity {
  const info = socket.getEphemeralKeyInfo();
  const group = info && typeof info === 'object' && 'name' in info ? String(info.name) : null;
  return { protocol: socket.getProtocol() ?? '', cipher: socket.getCipher()?.standardName ?? '', keyExchange: group };
}
