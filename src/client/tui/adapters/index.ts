/**
 * Builds the feature sources the TUI shows (sources.ts) from the real feature modules:
 * peer sessions (src/client/peer/, issue 3) and the broadcast inbox (src/client/broadcasts.ts,
 * issue 4). Both are attached before login: the peer listener's port goes in the login, and
 * broadcasts delivered at login must find the inbox listening.
 */
import type { P2PClient } from '../../client.ts';
import { BroadcastInbox } from '../../broadcasts.ts';
import { PeerManager } from '../../peer/manager.ts';
import type { Features } from '../sources.ts';
import { FileTransfers, type FileTransfersOptions } from '../../files/transfers.ts';
import { defaultDownloadDir } from '../../files/places.ts';
import { FileTransfersSource } from './file-source.ts';
import { BroadcastInboxSource } from './inbox-source.ts';
import { PeerManagerSource } from './peer-source.ts';

/** Where received files go and the largest accepted (`--download-dir`, `--max-file-size`). */
export type FileOptions = Partial<Pick<FileTransfersOptions, 'downloadDir' | 'maxFileBytes'>>;

export async function buildFeatures(client: P2PClient, fileOptions: FileOptions = {}): Promise<Features> {
  const manager = new PeerManager(client);
  await manager.start();
  const inbox = new BroadcastInbox(client);
  const files = new FileTransfers({ ...fileOptions, downloadDir: fileOptions.downloadDir ?? defaultDownloadDir() });
  return {
    peers: new PeerManagerSource(manager),
    inbox: new BroadcastInboxSource(inbox),
    files: new FileTransfersSource(files, manager),
    async close() {
      inbox.close();
      await manager.close();
    },
  };
}
