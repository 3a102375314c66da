/**
 * The client's saved history, headless: per-peer chat logs, the broadcast inbox and the input
 * history of one user on one server, in <data dir>/<server>/<user>/, encrypted at rest
 * (crypto.ts, sealed-log.ts). Files are 0600 and the directory 0700. A key file that does not
 * open with the password (an account deleted and registered again, a password changed
 * elsewhere) is never an error to the user: the old directory is moved aside and a new
 * history starts, and `movedAside` says where the old one went.
 */
import { chmod, mkdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { userKey } from '../../net/names.ts';
import { writeFileAtomic } from '../../util/atomic-file.ts';
import { hiddenName, HistoryError, newKeyFile, parseKeyFile, unwrapKey, wrapKey } from './crypto.ts';
import { FILE_MODE, SealedLog, type LogLimits } from './sealed-log.ts';

export const DIR_MODE = 0o700;
export const KEY_FILE = 'key.json';
const MiB = 1024 * 1024;
/** Per peer: about 100,000 ordinary chat lines (a sealed line of 60 characters takes ~130 bytes). */
export const CHAT_LOG_LIMITS: LogLimits = { maxBytes: 16 * MiB, keepBytes: 12 * MiB };
export const INBOX_LOG_LIMITS: LogLimits = { maxBytes: 2 * MiB, keepBytes: (3 * MiB) / 2 };
export const INPUT_LOG_LIMITS: LogLimits = { maxBytes: 256 * 1024, keepBytes: 192 * 1024 };

export interface SavedChatLine {
  at: number;
  from: string;
  text: string;
  own: boolean;
}

export interface SavedBroadcast {
  id: string;
  at: number;
  from: string;
  text: string;
}

export interface HistoryOptions {
  /** scrypt cost as log2(N); tests use a small one. */
  logN?: number;
  chatLimits?: LogLimits;
  inboxLimits?: LogLimits;
  inputLimits?: LogLimits;
  now?: () => number;
}

/** One peer's chat log: the newest lines first, older ones a page at a time. */
export class ChatLog {
  constructor(private readonly log: SealedLog) {}

  get count(): number {
    return this.log.count;
  }

  /** Lines [start, end), oldest first. */
  async lines(start: number, end: number): Promise<SavedChatLine[]> {
    return (await this.log.read(start, end)).map(decodeChat).filter((l): l is SavedChatLine => l !== null);
  }

  append(line: SavedChatLine): Promise<void> {
    return this.log.append(encode({ at: line.at, from: line.from, text: line.text, own: line.own }));
  }

  close(): Promise<void> {
    return this.log.close();
  }
}

export class HistoryStore {
  private readonly chats = new Map<string, Promise<ChatLog>>();

  private constructor(
    readonly dir: string,
    private dataKey: Buffer,
    private readonly options: HistoryOptions,
    private readonly inboxLog: SealedLog,
    private readonly inputLog: SealedLog,
    /** Where an unreadable earlier history was moved, if it was. */
    readonly movedAside: string | null,
  ) {}

  static async open(dir: string, password: string, options: HistoryOptions = {}): Promise<HistoryStore> {
    let movedAside: string | null = null;
    let dataKey: Buffer;
    await makeDir(dir);
    try {
      dataKey = await unwrapKey(parseKeyFile(await readFile(join(dir, KEY_FILE), 'utf8')), password);
    } catch (err) {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      if (!missing && !(err instanceof HistoryError)) throw err;
      if (!missing) {
        movedAside = `${dir}.unreadable-${new Date(options.now?.() ?? Date.now()).toISOString().replace(/[:.]/g, '-')}`;
        await rename(dir, movedAside);
        await makeDir(dir);
      }
      const fresh = await newKeyFile(password, options.logN);
      await writeFileAtomic(join(dir, KEY_FILE), JSON.stringify(fresh.file), FILE_MODE);
      dataKey = fresh.dataKey;
    }
    const inbox = await SealedLog.open(join(dir, 'inbox.log'), dataKey, options.inboxLimits ?? INBOX_LOG_LIMITS);
    const input = await SealedLog.open(join(dir, 'input.log'), dataKey, options.inputLimits ?? INPUT_LOG_LIMITS);
    return new HistoryStore(dir, dataKey, options, inbox.log, input.log, movedAside);
  }

  /** The chat log with `peer` (any spelling of the name), opened once. */
  chat(peer: string): Promise<ChatLog> {
    const key = userKey(peer);
    let log = this.chats.get(key);
    if (!log) {
      const path = join(this.dir, `chat-${hiddenName(this.dataKey, `chat\0${key}`)}.log`);
      log = SealedLog.open(path, this.dataKey, this.options.chatLimits ?? CHAT_LOG_LIMITS).then(
        (o) => new ChatLog(o.log),
      );
      this.chats.set(key, log);
      log.catch(() => this.chats.delete(key));
    }
    return log;
  }

  async broadcasts(): Promise<SavedBroadcast[]> {
    const all = await this.inboxLog.read(0, this.inboxLog.count);
    return all.map(decodeBroadcast).filter((b): b is SavedBroadcast => b !== null);
  }

  saveBroadcast(b: SavedBroadcast): Promise<void> {
    return this.inboxLog.append(encode({ id: b.id, at: b.at, from: b.from, text: b.text }));
  }

  /** The newest `count` input lines, oldest first. */
  async inputLines(count: number): Promise<string[]> {
    const all = await this.inputLog.read(this.inputLog.count - count, this.inputLog.count);
    return all.map(decodeInput).filter((t): t is string => t !== null);
  }

  saveInput(text: string): Promise<void> {
    return this.inputLog.append(encode({ text }));
  }

  /** A password change: wrap the same data key under the new password (the files stay as they are). */
  async changePassword(newPassword: string): Promise<void> {
    const file = await wrapKey(this.dataKey, newPassword, this.options.logN);
    await writeFileAtomic(join(this.dir, KEY_FILE), JSON.stringify(file), FILE_MODE);
  }

  async close(): Promise<void> {
    const chats = await Promise.allSettled(this.chats.values());
    await Promise.all([
      this.inboxLog.close(),
      this.inputLog.close(),
      ...chats.map((c) => (c.status === 'fulfilled' ? c.value.close() : undefined)),
    ]);
    this.chats.clear();
    this.dataKey.fill(0);
  }
}

async function makeDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: DIR_MODE });
  await chmod(dir, DIR_MODE); // mkdir's mode is masked by the umask, and an existing dir keeps its own
}

function encode(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/** Records verified under our key were written by us; the checks keep a bug of another version from crashing the view. */
function parse(plain: Buffer): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(plain.toString('utf8'));
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function decodeChat(plain: Buffer): SavedChatLine | null {
  const v = parse(plain);
  if (!v || typeof v.at !== 'number' || typeof v.from !== 'string' || typeof v.text !== 'string') return null;
  return { at: v.at, from: v.from, text: v.text, own: v.own === true };
}

function decodeBroadcast(plain: Buffer): SavedBroadcast | null {
  const v = parse(plain);
  if (
    !v ||
    typeof v.id !== 'string' ||
    typeof v.at !== 'number' ||
    typeof v.from !== 'string' ||
    typeof v.text !== 'string'
  )
    return null;
  return { id: v.id, at: v.at, from: v.from, text: v.text };
}

function decodeInput(plain: Buffer): string | null {
  const v = parse(plain);
  return v && typeof v.text === 'string' ? v.text : null;
}
