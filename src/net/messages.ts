/**
 * Every message of the protocol, as validators from which the TypeScript types are derived.
 * docs/PROTOCOL.md sections 3-7 describe each one; keep the two in step.
 */
import {
  ACK_TOKEN_BYTES,
  MAX_AWAY_REASON_BYTES,
  MAX_BROADCAST_ACK_IDS_TCP,
  MAX_BROADCAST_ACK_IDS_UDP,
  MAX_BROADCAST_TEXT_BYTES,
  MAX_FRAME_BYTES,
  MAX_CHAT_TEXT_BYTES,
  MAX_FILE_OFFER_BYTES,
  MAX_FILE_OFFER_NAME_BYTES,
  MAX_PASSWORD_BYTES,
  MAX_PRESENCE_BATCH,
  MAX_REQUEST_ID,
  RELAY_TOKEN_BYTES,
  USERNAME_PATTERN,
} from './constants.ts';
import { arr, bool, int, lit, obj, oneOf, opt, str, type Infer, type Validator } from './schema.ts';

const MAX_SAFE = Number.MAX_SAFE_INTEGER;

export const requestId = int(0, MAX_REQUEST_ID);
export const username = str({ min: 1, maxBytes: 32, pattern: USERNAME_PATTERN });
/** Login accepts any short name so that a malformed one fails like a wrong password. */
const loginName = str({ min: 1, maxBytes: 64 });
const password = str({ min: 1, maxBytes: MAX_PASSWORD_BYTES });
const ipText = str({ min: 2, maxBytes: 45, pattern: /^[0-9A-Fa-f.:]+$/ });
const port = int(1, 65535);
const base64url = (bytes: number) => str({ min: 1, maxBytes: Math.ceil((bytes * 4) / 3), pattern: /^[A-Za-z0-9_-]+$/ });
const hexId = str({ min: 1, maxBytes: 64, pattern: /^[0-9a-f]+$/ });
const ackToken = str({ min: 2 * ACK_TOKEN_BYTES, maxBytes: 2 * ACK_TOKEN_BYTES, pattern: /^[0-9a-f]+$/ });
const timeMs = int(0, MAX_SAFE);
const reason = str({ maxBytes: 512 });
const fileId = int(1, MAX_REQUEST_ID);
const fileName = str({ min: 1, maxBytes: MAX_FILE_OFFER_NAME_BYTES, wellFormed: true });
const sha256 = str({ min: 64, maxBytes: 64, pattern: /^[0-9a-f]{64}$/ });
const errorCode = str({ min: 3, maxBytes: 64, pattern: /^E_[A-Z_]+$/ });

/**
 * `away`, when present, says the user is away, with their reason ('' for none; section 4.7).
 * The server checked its size when it was set; a receiver sanitises it like any free text.
 */
export const userEntry = obj({ user: username, ip: ipText, away: opt(str({ maxBytes: MAX_AWAY_REASON_BYTES })) });
export type UserEntry = Infer<typeof userEntry>;

export const broadcastItem = obj({
  bid: hexId,
  from: username,
  text: str({ min: 1, maxBytes: MAX_BROADCAST_TEXT_BYTES }),
  createdAt: timeMs,
  expiresAt: timeMs,
});
export type BroadcastItem = Infer<typeof broadcastItem>;

// ---- TCP, client -> server (PROTOCOL.md section 3, 4, 6, 7) ----
export const clientMessages = {
  login: obj({
    t: lit('login'),
    id: requestId,
    proto: int(1, 65535),
    user: loginName,
    pass: password,
    peerPort: opt(port),
  }),
  register: obj({
    t: lit('register'),
    id: requestId,
    proto: int(1, 65535),
    user: loginName,
    pass: password,
    peerPort: opt(port),
  }),
  ping: obj({ t: lit('ping'), id: requestId }),
  list_users: obj({ t: lit('list_users'), id: requestId, offset: opt(int(0, MAX_SAFE)) }),
  logout: obj({ t: lit('logout'), id: requestId }),
  connect: obj({ t: lit('connect'), id: requestId, user: opt(loginName), ip: opt(ipText) }),
  connect_answer: obj({ t: lit('connect_answer'), id: requestId, reqId: hexId, accept: bool }),
  connect_cancel: obj({ t: lit('connect_cancel'), id: requestId, reqId: hexId }),
  /** Section 6.6: trade this side's relay token for a ticket (on the logged-in connection). */
  relay_request: obj({ t: lit('relay_request'), id: requestId, reqId: hexId, token: base64url(RELAY_TOKEN_BYTES) }),
  /** Section 6.6: the first and only frame on a fresh connection that becomes a relay half. */
  relay_open: obj({ t: lit('relay_open'), id: requestId, ticket: base64url(RELAY_TOKEN_BYTES) }),
  /**
   * The text may be up to a frame here: the handler checks MAX_BROADCAST_TEXT_BYTES itself so
   * that an over-long text gets its own code, E_BROADCAST_TOO_LARGE (section 7.4).
   */
  broadcast: obj({
    t: lit('broadcast'),
    id: requestId,
    text: str({ min: 1, maxBytes: MAX_FRAME_BYTES, wellFormed: true }),
  }),
  broadcast_ack: obj({ t: lit('broadcast_ack'), bids: arr(hexId, MAX_BROADCAST_ACK_IDS_TCP) }),
  /**
   * Section 4.7: mark this user away (with an optional one-line reason) or back. The reason
   * may be up to a frame here: the handler checks MAX_AWAY_REASON_BYTES itself so that an
   * over-long one gets its own code, E_AWAY_TOO_LARGE.
   */
  away: obj({ t: lit('away'), id: requestId, reason: opt(str({ maxBytes: MAX_FRAME_BYTES, wellFormed: true })) }),
  back: obj({ t: lit('back'), id: requestId }),
  /** Account changes (section 4.6): each proves the current password again. */
  passwd: obj({ t: lit('passwd'), id: requestId, old: password, new: password }),
  delete_account: obj({ t: lit('delete_account'), id: requestId, password }),
} satisfies Record<string, Validator<{ t: string }>>;

// ---- TCP, server -> client ----
const udpGrant = obj({ port, sid: base64url(8), key: base64url(32) });
export const serverMessages = {
  hello: obj({
    t: lit('hello'),
    proto: int(1, 65535),
    server: str({ maxBytes: 64 }),
    loginTimeoutMs: timeMs,
    keepaliveMs: timeMs,
  }),
  welcome: obj({
    t: lit('welcome'),
    re: requestId,
    user: username,
    ip: ipText,
    registered: bool,
    serverTime: timeMs,
    udp: udpGrant,
  }),
  error: obj({
    t: lit('error'),
    re: opt(requestId),
    code: errorCode,
    message: reason,
    retryAfterMs: opt(timeMs),
    fatal: opt(bool),
  }),
  ok: obj({ t: lit('ok'), re: requestId }),
  pong: obj({ t: lit('pong'), re: requestId, serverTime: timeMs }),
  user_list: obj({
    t: lit('user_list'),
    re: requestId,
    users: arr(userEntry, MAX_PRESENCE_BATCH),
    offset: int(0, MAX_SAFE),
    total: int(0, MAX_SAFE),
  }),
  presence: obj({
    t: lit('presence'),
    /** The receiver drops its list before applying this batch (a resync after a backlog). */
    reset: opt(bool),
    joined: arr(userEntry, MAX_PRESENCE_BATCH),
    left: arr(username, MAX_PRESENCE_BATCH),
  }),
  connect_ambiguous: obj({ t: lit('connect_ambiguous'), re: requestId, ip: ipText, candidates: arr(userEntry, 256) }),
  connect_pending: obj({
    t: lit('connect_pending'),
    re: requestId,
    reqId: hexId,
    user: username,
    ip: ipText,
    expiresInMs: timeMs,
  }),
  connect_prompt: obj({ t: lit('connect_prompt'), reqId: hexId, from: userEntry, expiresInMs: timeMs }),
  connect_result: obj({
    t: lit('connect_result'),
    reqId: hexId,
    role: oneOf('requester', 'target'),
    outcome: oneOf('accepted', 'declined', 'timeout', 'offline', 'cancelled'),
    reason,
    peer: userEntry,
    /** Accepted only: the other side's peerPort (the requester dials it; the target dials back, section 6.6). */
    port: opt(port),
    /** Accepted only: the one-time secret both sides derive the link key from. */
    secret: opt(base64url(32)),
    /** Accepted only, when the server relays: this side's single-use relay token (section 6.6). */
    relay: opt(base64url(RELAY_TOKEN_BYTES)),
  }),
  relay_ticket: obj({
    t: lit('relay_ticket'),
    re: requestId,
    ticket: base64url(RELAY_TOKEN_BYTES),
    expiresInMs: timeMs,
  }),
  /** Both halves joined: every byte after this frame is the other side's (section 6.6). */
  relay_ready: obj({ t: lit('relay_ready'), re: requestId }),
  broadcast_ok: obj({ t: lit('broadcast_ok'), re: requestId, bid: hexId, createdAt: timeMs, expiresAt: timeMs }),
  broadcast: obj({ t: lit('broadcast'), b: broadcastItem }),
} satisfies Record<string, Validator<{ t: string }>>;

// ---- UDP payloads (inside the sealed datagram, section 5) ----
export const udpClientMessages = {
  hello: obj({ t: lit('hello') }),
  ping: obj({ t: lit('ping'), n: int(0, MAX_SAFE) }),
  bcast_ack: obj({ t: lit('bcast_ack'), bids: arr(hexId, MAX_BROADCAST_ACK_IDS_UDP) }),
} satisfies Record<string, Validator<{ t: string }>>;

export const udpServerMessages = {
  welcome: obj({ t: lit('welcome') }),
  pong: obj({ t: lit('pong'), n: int(0, MAX_SAFE) }),
  /** `k`: this copy's ack token (section 5.4); absent from servers before it. */
  bcast: obj({ t: lit('bcast'), k: opt(ackToken), b: broadcastItem }),
} satisfies Record<string, Validator<{ t: string }>>;

// ---- Peer link, both directions (section 6.4) ----
export const peerMessages = {
  hello: obj({ t: lit('hello'), proto: int(1, 65535), user: username }),
  msg: obj({ t: lit('msg'), id: int(1, MAX_SAFE), text: str({ min: 1, maxBytes: MAX_CHAT_TEXT_BYTES }), ts: timeMs }),
  ack: obj({ t: lit('ack'), upTo: int(0, MAX_SAFE) }),
  typing: obj({ t: lit('typing'), on: bool }),
  ping: obj({ t: lit('ping'), n: int(0, MAX_SAFE) }),
  pong: obj({ t: lit('pong'), n: int(0, MAX_SAFE) }),
  bye: obj({ t: lit('bye'), reason }),
  error: obj({ t: lit('error'), code: errorCode, message: reason, ref: opt(int(0, MAX_SAFE)) }),
  // File transfer (section 6.7): `fid` is chosen by the file's sender and names one offer on this link.
  file_offer: obj({ t: lit('file_offer'), fid: fileId, name: fileName, size: int(0, MAX_FILE_OFFER_BYTES), sha256 }),
  file_accept: obj({ t: lit('file_accept'), fid: fileId, offset: int(0, MAX_FILE_OFFER_BYTES), prefix: opt(sha256) }),
  file_start: obj({ t: lit('file_start'), fid: fileId, offset: int(0, MAX_FILE_OFFER_BYTES) }),
  file_ack: obj({ t: lit('file_ack'), fid: fileId, offset: int(0, MAX_FILE_OFFER_BYTES) }),
  file_done: obj({ t: lit('file_done'), fid: fileId }),
  file_cancel: obj({ t: lit('file_cancel'), fid: fileId, code: errorCode, reason }),
  file_refuse: obj({ t: lit('file_refuse'), fid: fileId, code: errorCode, reason }),
} satisfies Record<string, Validator<{ t: string }>>;

export type MessageSet = Record<string, Validator<{ t: string }>>;
export type MessageOf<S extends MessageSet> = { [K in keyof S]: Infer<S[K]> }[keyof S];

export type ClientMessage = MessageOf<typeof clientMessages>;
export type ServerMessage = MessageOf<typeof serverMessages>;
export type UdpClientMessage = MessageOf<typeof udpClientMessages>;
export type UdpServerMessage = MessageOf<typeof udpServerMessages>;
export type PeerMessage = MessageOf<typeof peerMessages>;

/** Narrow a message union by its tag: `Msg<ClientMessage, 'login'>`. */
export type Msg<U extends { t: string }, T extends U['t']> = Extract<U, { t: T }>;
