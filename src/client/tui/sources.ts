/**
 * What the TUI needs from the feature modules, in its own small terms. Peer sessions
 * (src/client/peer/) and broadcasts (src/client/broadcasts.ts) are adapted to these
 * interfaces in src/client/tui/adapters/, so the views never depend on their internals (and
 * the tests can draw a pane from a small stand-in). Event maps are plain interfaces (no index
 * signature), so a misspelt event name is a type error wherever it is listened for. Text
 * fields arrive sanitised by the client core (src/net/sanitize.ts); the views escape markup.
 */
import type { Listenable } from '../../util/emitter.ts';
import type { FileSource } from './files/source.ts';

export interface PeerIdentity {
  user: string;
  ip: string;
}

export const Delivery = { SENDING: 'sending', SENT: 'sent', DELIVERED: 'delivered', FAILED: 'failed' } as const;
export type Delivery = (typeof Delivery)[keyof typeof Delivery];

export interface ChatEntry {
  /** Unique within its session; delivery updates refer to it. */
  id: string;
  own: boolean;
  from: string;
  text: string;
  at: number;
  /** Own messages only. */
  delivery?: Delivery;
}

export interface ChatSessionEvents {
  message: [ChatEntry];
  delivery: [id: string, state: Delivery];
  typing: [on: boolean];
  closed: [reason: string];
}

/** One open peer chat. */
export interface ChatSessionView extends Listenable<ChatSessionEvents> {
  readonly id: string;
  readonly peer: PeerIdentity;
  /** The short code both ends show, to compare out of band. */
  readonly verificationCode: string;
  /** How the chat is carried (PROTOCOL.md section 6.6), in words: long for /info, short for the tab title. */
  readonly connection?: {
    label: string;
    short: string;
    /** True when relayed: it ends with the server. */ needsServer: boolean;
  };
  readonly isOpen: boolean;
  /** Entries that arrived before the TUI subscribed. */
  history(): ChatEntry[];
  /** Rejects with a ProtocolError (E_MESSAGE_TOO_LARGE, E_DISCONNECTED, ...). */
  send(text: string): Promise<void> | void;
  /** Called on every edit while the user types in this tab (true) and once when the line is emptied or sent (false). */
  setTyping(on: boolean): void;
  close(): void;
}

export interface IncomingRequest {
  id: string;
  from: PeerIdentity;
  /** Wall-clock ms when the server counts it as declined. */
  expiresAt: number;
}

export type ConnectOutcome =
  | { kind: 'pending'; peer: PeerIdentity; expiresAt: number }
  | { kind: 'ambiguous'; ip: string; candidates: PeerIdentity[] };

export interface PeerSourceEvents {
  request: [IncomingRequest];
  /** A prompt that is no longer answerable (timed out, withdrawn, answered). */
  requestEnded: [id: string, reason: string];
  session: [ChatSessionView];
  /** One of our requests ended without a session (declined, timeout, offline, failed link). */
  outcome: [{ peer: PeerIdentity; reason: string }];
}

export interface PeerSource extends Listenable<PeerSourceEvents> {
  connect(target: { user: string } | { ip: string }): Promise<ConnectOutcome>;
  answer(requestId: string, accept: boolean): Promise<void>;
  sessions(): ChatSessionView[];
  /** Requests that arrived before the TUI subscribed (a prompt can come right after login). */
  requests(): IncomingRequest[];
  /** Users with a request pending either way (for the user list marks). */
  pendingWith(): string[];
}

export interface BroadcastEntry {
  id: string;
  from: string;
  text: string;
  at: number;
}

export interface InboxEvents {
  broadcast: [BroadcastEntry];
}

export interface InboxSource extends Listenable<InboxEvents> {
  /** Resolves once the server accepted it (broadcast_ok) with its times (the server's clock); rejects with a ProtocolError. */
  send(text: string): Promise<{ createdAt: number; expiresAt: number }>;
  /** Broadcasts received so far, oldest first. */
  received(): BroadcastEntry[];
}

/** The feature modules the main screen shows (adapters/index.ts builds them). */
export interface Features {
  peers: PeerSource;
  inbox: InboxSource;
  /** File transfer over the peer links (PROTOCOL.md 6.7); absent in stand-ins that do not need it. */
  files?: FileSource;
  /** Stop listeners and timers of the feature modules when the app quits. */
  close(): Promise<void>;
}
