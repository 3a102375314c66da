/**
 * File transfers (src/client/files/) as the TUI's FileSource: every peer session the manager
 * opens is followed, and a chat tab's session id finds its link for /send.
 */
import { ErrorCode, ProtocolError } from '../../../net/errors.ts';
import { Emitter } from '../../../util/emitter.ts';
import { expandHome } from '../../files/places.ts';
import type { Transfer } from '../../files/transfer.ts';
import type { FileTransfers, FileTransfersEvents } from '../../files/transfers.ts';
import type { PeerManager } from '../../peer/manager.ts';
import type { FileSource } from '../files/source.ts';

export class FileTransfersSource extends Emitter<FileTransfersEvents> implements FileSource {
  constructor(
    private readonly files: FileTransfers,
    private readonly manager: PeerManager,
  ) {
    super();
    for (const link of manager.sessions.values()) files.attach(link);
    manager.on('session', (link) => files.attach(link));
    files.on('offer', (t) => this.emit('offer', t));
    files.on('update', (t) => this.emit('update', t));
    files.on('progress', (t) => this.emit('progress', t));
  }

  get downloadDir(): string {
    return this.files.downloadDir;
  }

  send(sessionId: string, path: string): Promise<Transfer> {
    const link = this.manager.sessions.get(sessionId);
    if (!link) return Promise.reject(new ProtocolError(ErrorCode.DISCONNECTED, 'this chat has ended'));
    return this.files.send(link, expandHome(path));
  }

  accept(id: number): Promise<void> {
    return this.files.accept(id);
  }

  decline(id: number): void {
    this.files.decline(id);
  }

  cancel(id: number): void {
    this.files.cancel(id);
  }

  list(): Transfer[] {
    return this.files.list();
  }
}
