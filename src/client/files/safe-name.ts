/**
 * The name a received file is written under (PROTOCOL.md section 6.7, "Names"): whatever the
 * sender offered, one path component inside the download directory that prints safely on a
 * terminal and opens on Linux, macOS and Windows. The sender's name is a hint, never a path.
 */
import { FILE_NAME_MAX_BYTES } from '../../net/constants.ts';
import { sanitizeLine } from '../../net/sanitize.ts';

/** Separators and the characters Windows refuses in a name. */
const FORBIDDEN = /[/\\:*?"<>|]/g;
/** CON, PRN, AUX, NUL, COM1-9, LPT1-9, with or without an extension: devices on Windows. */
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]|conin\$|conout\$)(\.|$)/i;
const FALLBACK_NAME = 'file';

export function safeFileName(offered: string): string {
  // Escape sequences and control characters (NUL included) go first, as for chat text.
  let name = sanitizeLine(offered).replace(FORBIDDEN, '_').trim();
  // A leading dot hides the file (or is `.`/`..`); a leading dash reads as an option to tools.
  name = name.replace(/^[.\-\s]+/, '');
  // Windows drops trailing dots and spaces, so "a.txt." would land on "a.txt".
  name = name.replace(/[.\s]+$/, '');
  if (name === '') name = FALLBACK_NAME;
  if (WINDOWS_DEVICE.test(name)) name = `_${name}`;
  return capBytes(name, FILE_NAME_MAX_BYTES);
}

/**
 * At most `maxBytes` of UTF-8, cut on a character boundary, keeping a short extension (".tar.gz"
 * is two) so the file still opens with the right program.
 */
export function capBytes(name: string, maxBytes: number): string {
  if (Buffer.byteLength(name, 'utf8') <= maxBytes) return name;
  const ext = /(\.[^.\s]{1,16}){1,2}$/u.exec(name)?.[0] ?? '';
  const extBytes = Buffer.byteLength(ext, 'utf8');
  const keep = extBytes < maxBytes / 2 ? ext : '';
  const stem = name.slice(0, name.length - keep.length);
  return truncateUtf8(stem, maxBytes - Buffer.byteLength(keep, 'utf8')) + keep;
}

function truncateUtf8(text: string, maxBytes: number): string {
  let bytes = 0;
  let out = '';
  for (const ch of text) {
    const size = Buffer.byteLength(ch, 'utf8');
    if (bytes + size > maxBytes) break;
    bytes += size;
    out += ch;
  }
  return out;
}

/** "name.ext" -> "name (n).ext": the n-th alternative when "name.ext" is taken (never overwritten). */
export function withSuffix(name: string, n: number): string {
  if (n === 0) return name;
  const dot = name.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
  return `${stem} (${n})${ext}`;
}
