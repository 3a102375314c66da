/**
 * Peer sessions (src/client/peer/, PROTOCOL.md section 6) as the TUI's PeerSource and
 * ChatSessionView. Message ids become entry ids ("o<id>" ours, "p<id>" the peer's); the
 * link's cumulative `delivered` acks turn our entries from sent to delivered; a refused or
 * never-acknowledged message shows as not delivered.
 */
import { EventEmitter } from 'eventemitter3';
import { ErrorCode } from '../../../net/errors.ts';
import { asError } from '../../../util/as-error.ts';
import type { PeerLink, PeerLinkClose } from '../../peer/link.ts';
import { PEER_PATH_LABELS, PEER_PATH_SHORT, PeerPath } from '../../peer/path.ts';
import type { PeerManager, PeerPrompt, PendingRequest } from '../../peer/manager.ts';
import { describeError } from '../errors-text.ts';
import {
  Delivery,
  type ChatEntry,
  type ChatSessionEvents,
  type ChatSessionView,
  type ConnectOutcome,
  type IncomingRequest,
  type PeerSource,
  type PeerSourceEvents,
} from '../sources.ts';

const OUTCOME_TEXT: Record<string, string> = {
  declined: 'they declined.',
  timeout: 'no answer in time, so it counts as declined.',
  offline: 'they went offline.',
  cancelled: 'the request was withdrawn.',
};

export class LinkSession extends EventEmitter<ChatSessionEvents> implements ChatSessionView {
  readonly id: string;
  readonly peer: { user: string; ip: string };
  readonly verificationCode: string;
  readonly connection: { label: string; short: string; needsServer: boolean };
  /** Our ids not yet acknowledged, oldest first. */
  private unacked: number[] = [];

  constructor(
    private readonly link: PeerLink,
    private readonly now: () => number = Date.now,
  ) {
    super();
    this.id = link.reqId;
    this.peer = { user: link.peerUser, ip: link.peerIp };
    this.verificationCode = link.verificationCode;
    this.connection = {
      label: PEER_PATH_LABELS[link.path],
      short: PEER_PATH_SHORT[link.path],
      needsServer: link.path === PeerPath.RELAY,
    };
    link.on('message', (m) =>
      this.emit('message', { id: `p${m.id}`, own: false, from: link.peerUser, text: m.text, at: this.now() }),
    );
    link.on('delivered', (upTo) => this.settle((id) => id <= upTo, Delivery.DELIVERED));
    link.on('rejected', ({ id }) => this.settle((x) => x === id, Delivery.FAILED));
    link.on('typing', (on) => this.emit('typing', on));
    link.on('close', (info) => {
      this.settle(() => true, Delivery.FAILED);
      this.emit('closed', closeText(link, info));
    });
  }

  get isOpen(): boolean {
    return this.link.isOpen;
  }

  history(): ChatEntry[] {
    return [];
  }

  send(text: string): void {
    const id = this.link.send(text);
    this.unacked.push(id);
    this.emit('message', {
      id: `o${id}`,
      own: true,
      from: this.link.selfUser,
      text,
      at: this.now(),
      delivery: Delivery.SENT,
    });
  }

  setTyping(on: boolean): void {
    this.link.setTyping(on);
  }

  close(): void {
    this.link.close('closed the chat');
  }

  private settle(which: (id: number) => boolean, state: Delivery): void {
    const done = this.unacked.filter(which);
    if (done.length === 0) return;
    this.unacked = this.unacked.filter((id) => !which(id));
    for (const id of done) this.emit('delivery', `o${id}`, state);
  }
}

function closeText(link: PeerLink, info: PeerLinkClose): string {
  if (info.byPeer && info.code === null) return `${link.peerUser} closed it`;
  if (info.code === ErrorCode.DISCONNECTED || info.code === ErrorCode.TIMEOUT) {
    // A relayed chat needs the server (section 6.6); say so, and how to start again.
    if (link.path === PeerPath.RELAY)
      return `the server relaying it went away; once the server is back, /connect ${link.peerUser} starts a new chat`;
    return 'the direct connection was lost';
  }
  return info.reason || 'closed';
}

export class PeerManagerSource extends EventEmitter<PeerSourceEvents> implements PeerSource {
  private readonly views = new Map<string, LinkSession>();
  /** reqId -> user, for our requests waiting for an answer. */
  private readonly outgoing = new Map<string, string>();

  constructor(
    readonly manager: PeerManager,
    private readonly now: () => number = Date.now,
  ) {
    super();
    manager.on('prompt', (p) => this.emit('request', toRequest(p)));
    manager.on('prompt_closed', ({ reqId, reason }) => this.emit('requestEnded', reqId, reason));
    manager.on('session', (link) => {
      const view = new LinkSession(link, this.now);
      this.views.set(link.reqId, view);
      this.outgoing.delete(link.reqId);
      this.emit('session', view);
    });
    manager.on('session_closed', (link) => this.views.delete(link.reqId));
  }

  /**
   * Resolves as soon as the server says the request is pending (or ambiguous); the rest of
   * the flow arrives as events: `session` when accepted, `outcome` when not.
   */
  connect(target: { user: string } | { ip: string }): Promise<ConnectOutcome> {
    return new Promise((resolve, reject) => {
      let pendingId: string | null = null;
      let pendingPeer: { user: string; ip: string } | null = null;
      const onPending = (p: PendingRequest) => {
        pendingId = p.reqId;
        pendingPeer = { user: p.user, ip: p.ip };
        this.outgoing.set(p.reqId, p.user);
        resolve({ kind: 'pending', peer: { user: p.user, ip: p.ip }, expiresAt: p.expiresAt });
      };
      this.manager.requestPeer(target, onPending).then(
        (result) => {
          if (result.outcome === 'ambiguous')
            return resolve({ kind: 'ambiguous', ip: result.ip, candidates: result.candidates });
          if (result.outcome !== 'accepted') {
            if (pendingId) this.outgoing.delete(pendingId);
            this.emit('outcome', { peer: result.peer, reason: OUTCOME_TEXT[result.outcome] ?? result.reason });
          }
        },
        (err: unknown) => {
          if (pendingId) this.outgoing.delete(pendingId);
          if (!pendingId) return reject(asError(err));
          const who =
            pendingPeer ?? ('user' in target ? { user: target.user, ip: '?' } : { user: target.ip, ip: target.ip });
          this.emit('outcome', { peer: who, reason: describeError(err) });
        },
      );
    });
  }

  async answer(requestId: string, accept: boolean): Promise<void> {
    if (accept) await this.manager.accept(requestId);
    else await this.manager.decline(requestId);
  }

  sessions(): ChatSessionView[] {
    return [...this.views.values()];
  }

  requests(): IncomingRequest[] {
    return this.manager.pendingPrompts.map(toRequest);
  }

  pendingWith(): string[] {
    return [...this.outgoing.values(), ...this.manager.pendingPrompts.map((p) => p.from.user)];
  }
}

function toRequest(p: PeerPrompt): IncomingRequest {
  return { id: p.reqId, from: { user: p.from.user, ip: p.from.ip }, expiresAt: p.expiresAt };
}
