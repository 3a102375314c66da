/**
 * Make untrusted text safe to put on a terminal: remove escape sequences (CSI, OSC, DCS and
 * the rest) and every control character except newline (a tab becomes a space: its width
 * depends on the terminal), plus the Unicode bidi overrides that can make text read
 * differently from what it is (PROTOCOL.md section 6.5). Newlines stay: a message may have
 * several lines.
 *
 * The sanitising boundaries, one per program; nothing else sanitises:
 * - Client: where text is received, in the client core (section 6.5, "on receipt"): chat
 *   text, `bye` reasons and peer errors in peer/link.ts, request outcomes in peer/manager.ts,
 *   broadcasts in broadcasts.ts, the server's error messages in server-link.ts, away reasons
 *   in the user list in client.ts. Free text
 *   reaches the rest of the client only through these; names and addresses are checked
 *   against their patterns by the schema instead. The TUI only escapes blessed's tags
 *   (tui/text.ts); the line editor lets no control character but the newline in, so our own
 *   text is clean.
 * - Server: it relays text exactly as sent (7.1), so it sanitises where it draws, in the
 *   dashboard (dashboard/format.ts, dashboard/event-text.ts, the broadcast preview), and in
 *   the one event field a client fills with unchecked text, a failed login's name (handlers/
 *   auth.ts), which the JSON log writes as it is.
 */

// ESC followed by: CSI (ESC [ ... final), OSC/DCS/SOS/PM/APC (ESC ] P X ^ _ ... ST or BEL), or one char.
// eslint-disable-next-line no-control-regex -- the sanitiser exists to match control characters
const ESCAPE_SEQUENCE = /\u001b(?:\[[0-?]*[ -/]*[@-~]?|[\]PX^_][^\u0007\u001b]*(?:\u0007|\u001b\\)?|[ -/]*[0-~]?)/g;
// C1 introducers used without ESC (8-bit CSI 0x9b, OSC 0x9d, ...).
// eslint-disable-next-line no-control-regex -- the sanitiser exists to match control characters
const C1_SEQUENCE = /\u009b[0-?]*[ -/]*[@-~]?|[\u0090\u0098\u009d\u009e\u009f][^\u0007\u009c]*(?:\u0007|\u009c)?/g;
// eslint-disable-next-line no-control-regex -- the sanitiser exists to match control characters
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
const TAB = /\t/g;
const BIDI_CONTROL = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// Every sequence above starts with a control (C0, DEL, C1) or bidi character, \r included.
// eslint-disable-next-line no-control-regex -- the sanitiser exists to match control characters
const NEEDS_SANITIZING = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/**
 * True when sanitizeText would change the text. One scan instead of five replaces: the peer
 * link calls this for every received message (section 6.5), and almost all of them are clean.
 */
export function needsSanitizing(text: string): boolean {
  return NEEDS_SANITIZING.test(text);
}

export function sanitizeText(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(ESCAPE_SEQUENCE, '')
    .replace(C1_SEQUENCE, '')
    .replace(CONTROL, '')
    .replace(TAB, ' ')
    .replace(BIDI_CONTROL, '');
}

/** For one-line fields (names in a log line or a table cell): also fold newlines. */
export function sanitizeLine(text: string): string {
  return sanitizeText(text).replace(/\n/g, ' ');
}
