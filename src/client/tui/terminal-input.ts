/**
 * The terminal's input, read before blessed parses it (paste.ts says why): blessed reads a
 * stream that carries the keys only, and pastes and Alt-Enter come out as events. Only the
 * screen module builds it; the stream for blessed passes the TTY controls (raw mode) through.
 */
import { EventEmitter } from 'eventemitter3';
import { PassThrough, type Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { PasteFramer, type InputSegment } from './paste.ts';

/**
 * How long a lone Esc (or "ESC [") waits for the rest of a paste marker before it goes to
 * blessed as the key it was. Bytes sent together arrive within a millisecond or two even over
 * ssh; a person cannot press Esc and then "[" this fast.
 */
export const ESC_WAIT_MS = 25;

type TtyInput = Readable & { isTTY?: boolean; isRaw?: boolean; setRawMode?(mode: boolean): unknown };

export interface TerminalInputEvents {
  paste: [text: string, truncated: boolean];
  newline: [];
}

export class TerminalInput extends EventEmitter<TerminalInputEvents> {
  /** What blessed reads. */
  readonly keys: PassThrough & { isTTY?: boolean; isRaw?: boolean; setRawMode?(mode: boolean): unknown };
  private readonly framer = new PasteFramer();
  private readonly decoder = new StringDecoder('utf8');
  private readonly onData = (chunk: Buffer | string) => this.feed(chunk);
  private escTimer: NodeJS.Timeout | null = null;

  constructor(private readonly source: TtyInput) {
    super();
    const keys = new PassThrough() as TerminalInput['keys'];
    keys.isTTY = source.isTTY;
    if (typeof source.setRawMode === 'function') {
      const set = source.setRawMode.bind(source);
      keys.setRawMode = (mode: boolean) => {
        set(mode);
        keys.isRaw = mode;
        return keys;
      };
    }
    this.keys = keys;
    source.on('data', this.onData);
  }

  private feed(chunk: Buffer | string): void {
    const text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    if (this.escTimer) clearTimeout(this.escTimer);
    this.escTimer = null;
    this.deliver(this.framer.push(text));
    if (this.framer.holding) {
      this.escTimer = setTimeout(() => {
        this.escTimer = null;
        this.deliver(this.framer.flush());
      }, ESC_WAIT_MS);
    }
  }

  private deliver(segments: InputSegment[]): void {
    for (const segment of segments) {
      if (segment.kind === 'keys') this.keys.write(segment.text);
      else if (segment.kind === 'paste') this.emit('paste', segment.text, segment.truncated);
      else this.emit('newline');
    }
  }

  /** Stop reading (the app quits): the source is left paused for whoever owns it. */
  close(): void {
    if (this.escTimer) clearTimeout(this.escTimer);
    this.source.off('data', this.onData);
    this.source.pause();
    this.keys.end();
  }
}
