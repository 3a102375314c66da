/**
 * File transfer commands and notices (PROTOCOL.md section 6.7) for the main screen: /send,
 * /get, /decline-file, /transfers, /cancel; a note in the peer's chat tab at every step; the
 * progress text for that tab's title and the status bar, redrawn a few times a second.
 */
import { sameUser } from '../../../net/names.ts';
import type { Subscriptions } from '../../../util/emitter.ts';
import { isFinal, TransferState, type Transfer } from '../../files/transfer.ts';
import { describeError } from '../errors-text.ts';
import type { Tab, TabsModel } from '../tabs.ts';
import type { FileOp } from './commands.ts';
import type { FileSource } from './source.ts';
import { bytesText, progressText, statusSegment, transferRow, transferTitle } from './text.ts';

/** Redraws for progress at most this often (the transfers emit per transfer, 4 a second). */
export const PROGRESS_REDRAW_MS = 250;
/** Files at least this big get a note while they are hashed before the offer. */
const HASHING_NOTE_BYTES = 64 * 1024 * 1024;

export interface FileActionHost {
  readonly files: FileSource | undefined;
  readonly tabs: TabsModel;
  note(text: string, tab?: Tab): void;
}

export class FileActions {
  private readonly noted = new Map<number, TransferState>();
  private redrawTimer: NodeJS.Timeout | null = null;

  constructor(private readonly host: FileActionHost) {}

  /** Returns the text to keep in the input line ('' when handled). */
  async run(op: FileOp, line: string): Promise<string> {
    const files = this.host.files;
    if (!files) {
      this.host.note('File transfer is not available in this client.');
      return line;
    }
    try {
      switch (op.op) {
        case 'send':
          return await this.send(files, op.path, line);
        case 'get': {
          const offer = this.pickOffer(files, op.id);
          if (offer) await files.accept(offer.id);
          return '';
        }
        case 'decline': {
          const offer = this.pickOffer(files, op.id);
          if (offer) files.decline(offer.id);
          return '';
        }
        case 'list':
          this.list(files);
          return '';
        case 'cancel':
          files.cancel(op.id);
          return '';
      }
    } catch (err) {
      this.host.note(describeError(err));
      return '';
    }
  }

  /** Notes in the chat tabs as transfers move; `redraw` a few times a second while bytes move. */
  follow(subs: Subscriptions, redraw: () => void): void {
    const files = this.host.files;
    if (!files) return;
    subs.listen(files, 'offer', (t) => this.onOffer(t, files.downloadDir));
    subs.listen(files, 'update', (t) => this.onUpdate(t));
    subs.listen(files, 'progress', () => {
      this.redrawTimer ??= setTimeout(() => {
        this.redrawTimer = null;
        redraw();
      }, PROGRESS_REDRAW_MS);
    });
  }

  dispose(): void {
    if (this.redrawTimer) clearTimeout(this.redrawTimer);
    this.redrawTimer = null;
  }

  /** The moving transfers with this tab's peer, for its title; '' if none. */
  titleFor(tab: Tab): string {
    const peer = tab.session?.peer.user;
    if (!peer || !this.host.files) return '';
    return statusSegment(
      this.host.files.list().filter((t) => sameUser(t.peerUser, peer)),
      true,
    );
  }

  /** Every moving transfer, for the status bar; '' if none. */
  status(): string {
    return this.host.files ? statusSegment(this.host.files.list()) : '';
  }

  private async send(files: FileSource, path: string, line: string): Promise<string> {
    const tab = this.host.tabs.current;
    if (!tab.session || tab.ended) {
      this.host.note('/send offers a file to the peer of a chat: use it in an open chat tab.');
      return line;
    }
    try {
      await files.send(tab.session.id, path);
    } catch (err) {
      this.host.note(`Not offered: ${describeError(err)}`, tab);
      return line;
    }
    return '';
  }

  /** Offer `id`, or the oldest offer waiting (from this tab's peer, if a chat tab). */
  private pickOffer(files: FileSource, id: number | null): Transfer | null {
    const peer = this.host.tabs.current.session?.peer.user;
    const waiting = files
      .list()
      .filter((t) => t.direction === 'receive' && t.state === TransferState.OFFERED)
      .filter((t) => (id === null ? !peer || sameUser(t.peerUser, peer) : t.id === id));
    const offer = waiting[0];
    if (!offer)
      this.host.note(id === null ? 'No file offer is waiting for an answer here.' : `No file offer #${id} is waiting.`);
    return offer ?? null;
  }

  private list(files: FileSource): void {
    const all = files.list();
    if (all.length === 0) return this.host.note('No file transfers yet. /send <path> offers one in a chat.');
    for (const t of all) this.host.note(transferRow(t));
  }

  private tabOf(t: Transfer): Tab {
    return this.host.tabs.tabForUser(t.peerUser) ?? this.host.tabs.inbox;
  }

  private onOffer(t: Transfer, dir: string): void {
    this.noted.set(t.id, t.state);
    this.host.note(
      `${t.peerUser} offers ${t.name} (${bytesText(t.size)}), SHA-256 ${t.sha256}. ` +
        `/get ${t.id} saves it in ${dir}; /decline-file ${t.id} declines.`,
      this.tabOf(t),
    );
  }

  private onUpdate(t: Transfer): void {
    if (this.noted.get(t.id) === t.state) return;
    this.noted.set(t.id, t.state);
    const text = this.describe(t);
    if (text) this.host.note(text, this.tabOf(t));
    if (isFinal(t.state)) this.noted.delete(t.id);
  }

  private describe(t: Transfer): string | null {
    const title = transferTitle(t);
    switch (t.state) {
      case TransferState.HASHING:
        return t.size >= HASHING_NOTE_BYTES ? `Computing the SHA-256 of ${t.name} before offering it…` : null;
      case TransferState.OFFERED:
        return t.direction === 'send'
          ? `Offered ${title}; waiting for ${t.peerUser} to accept. /cancel ${t.id} withdraws it.`
          : null;
      case TransferState.ACTIVE: {
        const from = t.startOffset > 0 ? `, resuming at ${progressText(t).split(' ')[0] ?? ''}` : '';
        return `${t.direction === 'send' ? 'Sending' : 'Receiving'} ${title}${from}. /cancel ${t.id} stops it.`;
      }
      case TransferState.VERIFYING:
        return null;
      case TransferState.INTERRUPTED:
        return `${title} was interrupted (the chat ended); it resumes where it stopped when you chat with ${t.peerUser} again.`;
      case TransferState.DONE:
        return t.direction === 'send'
          ? `${t.peerUser} received ${t.name}; the SHA-256 matched.`
          : `Saved ${t.name} as ${t.savedAs ?? '?'} (SHA-256 checked).`;
      case TransferState.DECLINED:
      case TransferState.CANCELLED:
      case TransferState.FAILED:
        return `${title}: ${t.state}${t.error ? `: ${describeError(t.error)}` : ''}.`;
    }
  }
}
