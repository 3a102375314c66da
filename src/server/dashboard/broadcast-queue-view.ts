/**
 * The dashboard's view of the server's broadcast queue (issue 4, PROTOCOL.md section 7):
 * Broadcasts.pending() rows as the pane's PendingBroadcastInfo, plus a change signal from
 * the queue's events, so a row appears as soon as its broadcast is durable and leaves when
 * it is delivered to everyone or expires. Read-only: the pane never touches the queue.
 */
import { EventEmitter } from 'eventemitter3';
import type { ServerCore } from '../server.ts';
import type { BroadcastQueueView, PendingBroadcastInfo } from './broadcasts-feed.ts';

/** Events after which the pending list looks different (acks only move a count: the tick shows them). */
const QUEUE_EVENTS = ['broadcast_created', 'broadcast_delivered', 'broadcast_expired'] as const;

export class ServerBroadcastQueueView implements BroadcastQueueView {
  readonly changes = new EventEmitter<{ change: [] }>();
  private readonly changed = () => this.changes.emit('change');

  constructor(private readonly core: ServerCore) {
    for (const event of QUEUE_EVENTS) core.on(event, this.changed);
  }

  pending(): PendingBroadcastInfo[] {
    // `preview` is the text's start, already made safe for a terminal by the queue.
    return this.core.broadcasts.pending().map((b) => ({
      id: b.bid,
      sender: b.from,
      text: b.preview,
      createdAt: b.createdAt,
      expiresAt: b.expiresAt,
      acked: b.acked,
      // A broadcast is for every registered user (section 7): acknowledged n of all of them.
      recipients: b.registered,
    }));
  }

  dispose(): void {
    for (const event of QUEUE_EVENTS) this.core.off(event, this.changed);
  }
}
