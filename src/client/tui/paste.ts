/**
 * Bracketed paste (xterm's mode 2004), framed before blessed sees the bytes. With the mode on,
 * a terminal wraps pasted text in ESC[200~ ... ESC[201~; blessed 0.1.81 drops both markers and
 * would deliver the text as keys (each line end an Enter, each line sent on its own). The
 * framer splits what the terminal sends into keys for blessed and pastes for the input line.
 * It also picks out Alt-Enter (ESC CR), which blessed drops too. Pure: fed strings in any
 * chunking, byte by byte in its tests.
 */

export const PASTE_START = '\x1b[200~';
export const PASTE_END = '\x1b[201~';
export const BRACKETED_PASTE_ON = '\x1b[?2004h';
export const BRACKETED_PASTE_OFF = '\x1b[?2004l';
/** Alt-Enter as terminals send it: ESC then CR (or LF). */
// eslint-disable-next-line no-control-regex -- matching a terminal's key sequence
const ALT_ENTER = /\x1b[\r\n]/g;

/** A paste holds at most this many UTF-16 units (the rest is dropped and said so): far above a chat message (16 KiB). */
export const MAX_PASTE_UNITS = 256 * 1024;

export type InputSegment =
  { kind: 'keys'; text: string } | { kind: 'paste'; text: string; truncated: boolean } | { kind: 'newline' };

/** The longest tail of `text` that is a proper prefix of `marker` (it may be completed by the next chunk). */
function partialTail(text: string, marker: string, minLength: number): number {
  for (let n = Math.min(marker.length - 1, text.length); n >= minLength; n--) {
    if (text.endsWith(marker.slice(0, n))) return n;
  }
  return 0;
}

export class PasteFramer {
  private pasting = false;
  private paste = '';
  private truncated = false;
  /** The start of a marker split across chunks. */
  private held = '';

  push(chunk: string): InputSegment[] {
    let text = this.held + chunk;
    this.held = '';
    const out: InputSegment[] = [];
    while (text.length > 0) {
      if (!this.pasting) {
        const at = text.indexOf(PASTE_START);
        if (at < 0) {
          // "ESC", "ESC [" or "ESC [2" at the end may be a marker cut in two: it waits for the rest (or flush()).
          const tail = partialTail(text, PASTE_START, 1);
          this.keys(out, text.slice(0, text.length - tail));
          this.held = text.slice(text.length - tail);
          break;
        }
        this.keys(out, text.slice(0, at));
        text = text.slice(at + PASTE_START.length);
        this.pasting = true;
        continue;
      }
      const end = text.indexOf(PASTE_END);
      if (end < 0) {
        const tail = partialTail(text, PASTE_END, 1);
        this.add(text.slice(0, text.length - tail));
        this.held = text.slice(text.length - tail);
        break;
      }
      this.add(text.slice(0, end));
      out.push({ kind: 'paste', text: this.paste, truncated: this.truncated });
      this.pasting = false;
      this.paste = '';
      this.truncated = false;
      text = text.slice(end + PASTE_END.length);
    }
    return out;
  }

  /** True while the start of a marker (or a lone Esc key) waits for more bytes. */
  get holding(): boolean {
    return this.held !== '' && !this.pasting;
  }

  /**
   * No more bytes came soon enough: what was held was keys after all (the Esc key pressed on
   * its own). The caller flushes after a short wait, as terminals tell Esc from a sequence.
   */
  flush(): InputSegment[] {
    if (!this.holding) return [];
    const out: InputSegment[] = [];
    this.keys(out, this.held);
    this.held = '';
    return out;
  }

  private add(text: string): void {
    const room = MAX_PASTE_UNITS - this.paste.length;
    if (text.length > room) this.truncated = true;
    this.paste += text.slice(0, Math.max(0, room));
  }

  private keys(out: InputSegment[], text: string): void {
    let from = 0;
    for (const m of text.matchAll(ALT_ENTER)) {
      if (m.index > from) out.push({ kind: 'keys', text: text.slice(from, m.index) });
      out.push({ kind: 'newline' });
      from = m.index + m[0].length;
    }
    if (from < text.length) out.push({ kind: 'keys', text: text.slice(from) });
  }
}
