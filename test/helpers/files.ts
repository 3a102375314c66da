/** Real files and two FileTransfers over a real loopback peer link, for the file transfer tests. */
import { randomBytes, createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { once } from 'node:events';
import type { TestContext } from 'node:test';
import { FileTransfers, type FileTransfersOptions } from '../../src/client/files/transfers.ts';
import type { PeerLink } from '../../src/client/peer/link.ts';
import { defer } from './cleanup.ts';
import { linkPair } from './peers.ts';
import { tempDir as serverTempDir } from './server.ts';

/** A fresh temporary directory, removed when the test ends. */
export async function tempDir(t: TestContext, prefix = 'files'): Promise<string> {
  const dir = await serverTempDir(prefix);
  defer(t, dir.remove);
  return dir.path;
}

/** Write `bytes` random bytes to `path`, streaming (never the whole file in memory); returns its SHA-256. */
export async function randomFile(path: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  const block = 1024 * 1024;
  for (let done = 0; done < bytes;) {
    const chunk = randomBytes(Math.min(block, bytes - done));
    hash.update(chunk);
    done += chunk.length;
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return hash.digest('hex');
}

export async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export const listDir = async (dir: string): Promise<string[]> => (await readdir(dir)).sort();

export interface FileBed {
  /** bob's side sends (the dialer), alice's receives into `inbox`. */
  sender: FileTransfers;
  receiver: FileTransfers;
  senderLink: PeerLink;
  receiverLink: PeerLink;
  outbox: string;
  inbox: string;
  /** Open a new link between the same two users and attach both sides (a reconnect). */
  reconnect(): Promise<void>;
}

/** Two FileTransfers on the two ends of a real TLS-PSK link on loopback; all removed at the end. */
export async function fileBed(t: TestContext, receiverOptions: Partial<FileTransfersOptions> = {}): Promise<FileBed> {
  const outbox = await tempDir(t, 'outbox');
  const inbox = await tempDir(t, 'inbox');
  const sender = new FileTransfers({ downloadDir: outbox });
  const receiver = new FileTransfers({ downloadDir: inbox, ...receiverOptions });
  const bed = { sender, receiver, outbox, inbox } as FileBed;
  bed.reconnect = async () => {
    const pair = await linkPair();
    defer(t, () => pair.close());
    sender.attach(pair.dialer);
    receiver.attach(pair.accepted);
    bed.senderLink = pair.dialer;
    bed.receiverLink = pair.accepted;
  };
  await bed.reconnect();
  return bed;
}
