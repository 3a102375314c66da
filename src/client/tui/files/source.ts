/** What the TUI needs of file transfers (src/client/files/, PROTOCOL.md section 6.7). */
import type { Listenable } from '../../../util/emitter.ts';
import type { FileTransfersEvents } from '../../files/transfers.ts';
import type { Transfer } from '../../files/transfer.ts';

export interface FileSource extends Listenable<FileTransfersEvents> {
  readonly downloadDir: string;
  /** Offer a file in the chat whose session id is `sessionId`; rejects with a ProtocolError. */
  send(sessionId: string, path: string): Promise<Transfer>;
  accept(id: number): Promise<void>;
  decline(id: number): void;
  cancel(id: number): void;
  list(): Transfer[];
}
