/**
 * The broadcast inbox (src/client/broadcasts.ts, PROTOCOL.md section 7) as the TUI's
 * InboxSource. The inbox already drops duplicates by id, so each broadcast is one line.
 */
import { EventEmitter } from 'eventemitter3';
import type { BroadcastInbox, InboxItem } from '../../broadcasts.ts';
import type { BroadcastEntry, InboxEvents, InboxSource } from '../sources.ts';

export class BroadcastInboxSource extends EventEmitter<InboxEvents> implements InboxSource {
  constructor(readonly inbox: BroadcastInbox) {
    super();
    inbox.on('broadcast', (item) => this.emit('broadcast', toEntry(item)));
  }

  async send(text: string): Promise<{ createdAt: number; expiresAt: number }> {
    const sent = await this.inbox.send(text);
    return { createdAt: sent.createdAt, expiresAt: sent.expiresAt };
  }

  received(): BroadcastEntry[] {
    return this.inbox.items.map(toEntry);
  }
}

/** Shown at the sender's time of creation: that is when it was said. */
function toEntry(item: InboxItem): BroadcastEntry {
  return { id: item.bid, from: item.from, text: item.text, at: item.createdAt };
}
