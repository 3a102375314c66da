/**
 * Every limit of the protocol, with its unit in the name. docs/PROTOCOL.md section 9 lists
 * them; a change here is a protocol change and updates that table in the same commit.
 */

export const PROTOCOL_VERSION = 1;
export const DEFAULT_PORT = 4400;

// Framing (PROTOCOL.md section 2)
export const FRAME_HEADER_BYTES = 4;
export const MAX_FRAME_BYTES = 64 * 1024;

// Accounts (section 4)
export const USERNAME_PATTERN = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}$/;
export const MAX_USERNAME_CHARS = 32;
export const MIN_PASSWORD_CHARS = 8;
export const MAX_PASSWORD_BYTES = 1024;

// Connection lifecycle (section 3)
export const LOGIN_TIMEOUT_MS = 30_000;
export const KEEPALIVE_INTERVAL_MS = 15_000;
/** The server closes a logged-in connection that sent nothing for this long (3 missed pings). */
export const IDLE_TIMEOUT_MS = 3 * KEEPALIVE_INTERVAL_MS;
export const PRESENCE_FLUSH_MS = 250;

/**
 * Backpressure: every threshold on output queued for one stream and not yet written, in bytes,
 * lowest first, so the levels can be read against each other. Each says what happens above it.
 */
export const OUTPUT_QUEUE_BYTES = {
  /** Connection.send() returns false (stop producing until 'drain'). */
  WRITE_HIGH_WATER: 16 * 1024,
  /**
   * The server sends a client no presence deltas while backed up: missed changes are kept (up
   * to MAX_PRESENCE_BATCH users) and sent once it drains, or past that the whole list with
   * `reset` (section 4.5).
   */
  PRESENCE_HOLD: 64 * 1024,
  /** The server stops reading from a client, and holds broadcast frames for it (section 7.2). */
  SERVER_PAUSE_READ: 256 * 1024,
  /** The server's dashboard skips frames until its terminal drains (the terminal must never hold up the server). */
  DASHBOARD_SKIP_FRAMES: 256 * 1024,
  /** The server disconnects the client with E_SLOW_CONSUMER (IRC's "SendQ exceeded"). */
  SERVER_DISCONNECT: 1024 * 1024,
  /** A peer link's `send` fails with E_RATE_LIMITED: the peer is not reading (section 6.5). */
  PEER_REFUSE_SEND: 4 * 1024 * 1024,
} as const;
/**
 * Users per welcome/presence/user_list message. A worst-case entry (32-byte name, 45-byte
 * IPv6 text) is under 100 bytes of JSON, so 500 keep a message well inside MAX_FRAME_BYTES.
 */
export const MAX_PRESENCE_BATCH = 500;

// Login rate limiting (section 4.4)
export const FREE_FAILURES_PER_USER = 3;
export const FREE_FAILURES_PER_IP = 20;
export const BACKOFF_BASE_MS = 1_000;
export const BACKOFF_MAX_MS = 5 * 60_000;
/** Failure counters are forgotten after this long without a failure. */
export const FAILURE_MEMORY_MS = 15 * 60_000;

// UDP (section 5)
export const UDP_VERSION = 1;
/** The first byte of a token ack (section 5.4), which is not sealed. */
export const UDP_TOKEN_ACK_VERSION = 2;
/** A `bcast` copy's ack token (`k`, section 5.4): random, one per recipient and broadcast. */
export const ACK_TOKEN_BYTES = 8;
export const UDP_SESSION_ID_BYTES = 8;
export const UDP_KEY_BYTES = 32;
export const UDP_HEADER_BYTES = 1 + UDP_SESSION_ID_BYTES + 8;
export const UDP_TAG_BYTES = 16;
export const MAX_DATAGRAM_BYTES = 8 * 1024;
export const REPLAY_WINDOW_PACKETS = 1024;
export const UDP_KEEPALIVE_INTERVAL_MS = 15_000;
/** A path with no valid datagram (or pong) for this long is reported dead. */
export const UDP_DEAD_AFTER_MS = 3 * UDP_KEEPALIVE_INTERVAL_MS;

// Peer sessions (section 6)
export const PEER_REQUEST_TIMEOUT_MS = 30_000;
export const PEER_SECRET_BYTES = 32;
/** An accepted session's secret must be used within this long. */
export const PEER_SECRET_TTL_MS = 60_000;
export const PEER_REQUESTS_PER_MINUTE = 10;
export const MAX_PENDING_PEER_REQUESTS = 5;
/** Prompts waiting for one target's answer; beyond this new requests get E_PEER_BUSY. */
export const MAX_PENDING_PEER_PROMPTS = 10;
/** reqId: random bytes, sent as lower-case hex (also the TLS-PSK identity, section 6.3). */
export const PEER_REQ_ID_BYTES = 16;
export const MAX_CHAT_TEXT_BYTES = 16 * 1024;
/** TLS handshake plus the `hello` exchange must finish within this (section 6.3). */
export const PEER_HANDSHAKE_TIMEOUT_MS = 10_000;
/** The requester retries a refused handshake: the target may learn the secret a moment later. */
export const PEER_DIAL_ATTEMPTS = 5;
export const PEER_DIAL_RETRY_BASE_MS = 50;
/** Peer link keepalive (section 6.5): ping after this much silence, dead after 3 silent intervals. */
export const PEER_KEEPALIVE_INTERVAL_MS = 15_000;
export const PEER_DEAD_AFTER_MS = 3 * PEER_KEEPALIVE_INTERVAL_MS;
/** Typing indicator (section 6.5): refresh `typing on` this often; the receiver forgets it after the expiry. */
export const PEER_TYPING_REFRESH_MS = 3_000;
export const PEER_TYPING_EXPIRY_MS = 2 * PEER_TYPING_REFRESH_MS;
/** Invalid frames tolerated from a peer before the link is closed. */
export const MAX_INVALID_PEER_FRAMES = 10;
// File transfer over the peer link (section 6.7)
/** File bytes per data frame: 16 KiB - 4 (length) - 11 (data header), so a frame fills one TLS record. */
export const FILE_CHUNK_BYTES = 16 * 1024 - 4 - 11;
/** A file name in an offer, in UTF-8 bytes; the receiver caps what it writes at FILE_NAME_MAX_BYTES. */
export const MAX_FILE_OFFER_NAME_BYTES = 1024;
/** The name written to disk (before " (n)" and ".part"): ext4, APFS and NTFS allow 255 bytes. */
export const FILE_NAME_MAX_BYTES = 200;
/** Offers a side may have open (offered, queued or sending) on one link, each direction. */
export const MAX_FILE_OFFERS_PER_LINK = 32;
/**
 * File ids a receiver remembers per link (to refuse a reused one); past this, finished ones
 * are forgotten. A peer that offers and cancels in a loop cannot grow our memory without bound.
 */
export const MAX_FILE_IDS_REMEMBERED = 1024;
/** Data frames for an unknown file answered with E_FILE_UNKNOWN per link; later ones are dropped unanswered. */
export const MAX_UNKNOWN_FILE_REPLIES = 10;
/** The receiver's default size limit (`--max-file-size`). */
export const DEFAULT_MAX_FILE_BYTES = 4 * 1024 * 1024 * 1024;
/** Largest size an offer may state: 2^53 - 1 (a JSON number). */
export const MAX_FILE_OFFER_BYTES = Number.MAX_SAFE_INTEGER;
/**
 * File bytes a sender may have sent beyond the receiver's last `file_ack`. Bounds what sits in
 * socket buffers ahead of a chat message (at 100 MB/s, 1 MiB is 10 ms), well above the
 * bandwidth-delay product of any path a chat runs on (bench/files.ts).
 */
export const FILE_WINDOW_BYTES = 1024 * 1024;
/** The receiver sends `file_ack` after every this many bytes. */
export const FILE_ACK_EVERY_BYTES = 256 * 1024;
/** File data queued below the chat frames before the sender waits for 'drain' (bytes). */
export const FILE_BULK_HIGH_WATER_BYTES = 256 * 1024;
/** Received file data waiting for the disk before the receiver stops reading the link (bytes). */
export const FILE_WRITE_BACKLOG_BYTES = 1024 * 1024;
/** Connections a peer listener holds at once (sessions plus handshakes in progress). */
export const MAX_PEER_CONNECTIONS = 256;
/** TLS handshakes one IP may have open at once on a peer listener (beyond: closed at once). */
export const MAX_PEER_HANDSHAKES_PER_IP = 8;

// Connection ladder (section 6.6): how long each rung gets before the next is tried.
/** The requester's dial of the target's listener gives up after this (NATs often drop, not refuse). */
export const PEER_DIRECT_DEADLINE_MS = 2_500;
/** The target's dial of the requester's listener (reverse) gives up after this. */
export const PEER_REVERSE_DEADLINE_MS = 2_500;
/** A side opens its relay half this long after the accept, or at once when its own dial failed. */
export const PEER_RELAY_DELAY_MS = 1_000;
/** No link on any rung this long after the accept: the chat fails. */
export const PEER_LADDER_TIMEOUT_MS = 12_000;

// Relay (section 6.6): the server splices two clients' bytes when no direct path exists.
/** Relay tokens (one per side, in connect_result) and tickets: random bytes, base64url. */
export const RELAY_TOKEN_BYTES = 16;
/** A token must be redeemed for a ticket within this long after the accept ("late" after). */
export const RELAY_TOKEN_TTL_MS = 30_000;
/** A ticket must open its relay connection within this long. */
export const RELAY_TICKET_TTL_MS = 10_000;
/** A relay half waits this long for the other side to join, then gets E_RELAY_PEER_ABSENT. */
export const RELAY_PAIR_TIMEOUT_MS = 10_000;
/** Relayed circuits (pending or spliced) on the whole server, and per user. */
export const RELAY_MAX_CIRCUITS = 1_000;
export const RELAY_MAX_CIRCUITS_PER_USER = 8;
/**
 * Bytes per second each direction of one circuit may carry, with a burst of one second's worth.
 * 1 MiB/s is far above chat (a 16 KiB message a second is 16 KiB/s) and keeps one flooding
 * pair from taking the server's uplink.
 */
export const RELAY_BYTES_PER_SECOND = 1024 * 1024;
/** A circuit that carries no byte either way for this long is closed (keepalive pings every 15 s). */
export const RELAY_IDLE_TIMEOUT_MS = 120_000;
/**
 * Bytes the server holds for one direction of a circuit before it stops reading the sender
 * (the socket's own high-water mark): backpressure, so the server never buffers for a slow side.
 */
export const RELAY_BUFFER_BYTES = 64 * 1024;
/** A side that takes none of its pending bytes for this long is cut (E_SLOW_CONSUMER). */
export const RELAY_STALL_TIMEOUT_MS = 10_000;

// Away (section 4.7)
/** An away reason is one short line, like an IRC away message. */
export const MAX_AWAY_REASON_BYTES = 200;

// Broadcasts (section 7)
export const DEFAULT_BROADCAST_TTL_MS = 30 * 60_000;
export const MAX_BROADCAST_TEXT_BYTES = 4 * 1024;
/** Per sender, sliding window of one minute (section 7.4). */
export const BROADCASTS_PER_MINUTE = 10;
export const MAX_PENDING_BROADCASTS = 1000;
export const BROADCAST_ID_BYTES = 8;
/** Ids per acknowledgement: a `bcast_ack` datagram / a `broadcast_ack` frame (section 7.2). */
export const MAX_BROADCAST_ACK_IDS_UDP = 64;
export const MAX_BROADCAST_ACK_IDS_TCP = 256;
/**
 * The longest a client should hold an ack before sending it (section 7.2). The reference
 * client acks at the end of the event-loop turn in which the copy arrived (one datagram for
 * every copy read in that turn): the server times its retransmissions from the round trip it
 * measures, which includes this delay, so an ack held longer only makes that client's
 * retransmissions slower. A fan-out's acks come back at the pace the server sends, which
 * the server's 4 MiB UDP receive buffer absorbs (docs/BENCHMARKS.md, "Broadcast fan-out").
 */
export const BROADCAST_ACK_DELAY_MAX_MS = 50;
/**
 * The retransmission timeout of a broadcast datagram follows the measured round trip as
 * TCP's does (RFC 6298; section 7.2). Before any sample: 1 s (RFC 6298's initial RTO).
 */
export const BROADCAST_RTO_INITIAL_MS = 1_000;
/**
 * Floor of the RTO. Lower than TCP's 200 ms: a spurious retransmission costs one small
 * datagram the client drops as a duplicate, while a late one delays every lost copy; two
 * delivery ticks (50 ms each) is the finest the timer can act on anyway.
 */
export const BROADCAST_RTO_MIN_MS = 100;
/**
 * Ceiling of the RTO (before back-off): the fixed first wait of earlier versions, which
 * covers their clients' 500 ms ack delay and a round trip. A server whose own delays make
 * the measured round trip jitter by seconds (a starved CPU) then retransmits no later than
 * those versions did; measured below it, sooner.
 */
export const BROADCAST_RTO_MAX_MS = 1_000;
/**
 * A broadcast unacknowledged over UDP this long after its first send goes over TCP, even
 * with UDP tries left (a slow path's backed-off RTO would otherwise take longer).
 */
export const BROADCAST_UDP_DEADLINE_MS = 7_000;
/** UDP sends of one broadcast to one recipient before the server falls back to TCP. */
export const BROADCAST_UDP_TRIES = 3;
/** Unacknowledged UDP broadcasts per recipient; beyond this new ones go over TCP. */
export const MAX_BROADCASTS_IN_FLIGHT_UDP = 32;

export const MAX_REQUEST_ID = 2 ** 31 - 1;

/**
 * The sliding window of every "per minute" limit (PEER_REQUESTS_PER_MINUTE,
 * BROADCASTS_PER_MINUTE, registrations per IP): events in the last RATE_WINDOW_MS count.
 */
export const RATE_WINDOW_MS = 60_000;
