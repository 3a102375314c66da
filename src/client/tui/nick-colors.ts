/**
 * A stable colour per nickname, as irssi and weechat give one: the same user is the same
 * colour in every tab and every run. The name is folded first (`userKey`), so "Bob" and "bob"
 * match, then hashed (FNV-1a, 32 bits) onto the palette.
 *
 * The palette is readable on 8 and on 256 colours on a dark background: no blue (on 8
 * colours blessed draws every blue as colour 4, dark blue on black), no black or grey. Bright
 * variants are 256-colour spread; on 8 colours blessed folds each onto its base colour, still
 * readable. Your own name is bold white, a colour no one else gets.
 */
import { userKey } from '../../net/names.ts';
import type { Span } from './wrap.ts';

export const NICK_PALETTE = [
  'red',
  'green',
  'yellow',
  'magenta',
  'cyan',
  'light-red',
  'light-green',
  'light-yellow',
  'light-magenta',
  'light-cyan',
] as const;
export type NickColor = (typeof NICK_PALETTE)[number];

/** The colour of everyone's own name: never in the palette. */
export const OWN_COLOR = 'white';

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over the UTF-16 units of the folded name: cheap, stable across runs and platforms. */
function hash(text: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME) >>> 0;
  return h;
}

export function nickColor(user: string): NickColor {
  return NICK_PALETTE[hash(userKey(user)) % NICK_PALETTE.length] ?? 'cyan';
}

/** blessed tags for a name in a message line. */
export function nickStyle(user: string, own: boolean): Pick<Span, 'open' | 'close'> {
  const color = own ? OWN_COLOR : nickColor(user);
  return { open: `{${color}-fg}{bold}`, close: `{/bold}{/${color}-fg}` };
}
