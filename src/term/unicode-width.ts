/**
 * Terminal widths of text for both blessed UIs (client TUI and server dashboard).
 *
 * blessed 0.1.81 measures characters with a width table from before Unicode 9, so it thinks
 * emoji such as U+1F600 take one cell while every current terminal (and xterm.js with its
 * Unicode 11 provider) draws them in two: each emoji would push the rest of its row one cell
 * right and break borders. We teach blessed the Unicode 11 East Asian Wide/Fullwidth ranges
 * it lacks, in the two places it asks: `charWidth` (measuring, drawing) and `chars.all` (the
 * pattern it uses to give every double-width character a filler cell).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface BlessedUnicode {
  charWidth(str: string | number, i?: number): number;
  strWidth(str: string): number;
  chars: { all: RegExp };
  __p2pPatched?: boolean;
}

/** Wide code points (Unicode 11 EastAsianWidth W and F) that blessed's table misses: emoji and newer CJK planes. */
const WIDE_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x231a, 0x231b],
  [0x23e9, 0x23ec],
  [0x23f0, 0x23f0],
  [0x23f3, 0x23f3],
  [0x25fd, 0x25fe],
  [0x2614, 0x2615],
  [0x2648, 0x2653],
  [0x267f, 0x267f],
  [0x2693, 0x2693],
  [0x26a1, 0x26a1],
  [0x26aa, 0x26ab],
  [0x26bd, 0x26be],
  [0x26c4, 0x26c5],
  [0x26ce, 0x26ce],
  [0x26d4, 0x26d4],
  [0x26ea, 0x26ea],
  [0x26f2, 0x26f3],
  [0x26f5, 0x26f5],
  [0x26fa, 0x26fa],
  [0x26fd, 0x26fd],
  [0x2705, 0x2705],
  [0x270a, 0x270b],
  [0x2728, 0x2728],
  [0x274c, 0x274c],
  [0x274e, 0x274e],
  [0x2753, 0x2755],
  [0x2757, 0x2757],
  [0x2795, 0x2797],
  [0x27b0, 0x27b0],
  [0x27bf, 0x27bf],
  [0x2b1b, 0x2b1c],
  [0x2b50, 0x2b50],
  [0x2b55, 0x2b55],
  [0x16fe0, 0x16fe3],
  [0x17000, 0x187f7],
  [0x18800, 0x18af2],
  [0x1b000, 0x1b11e],
  [0x1b150, 0x1b152],
  [0x1b164, 0x1b167],
  [0x1b170, 0x1b2fb],
  [0x1f004, 0x1f004],
  [0x1f0cf, 0x1f0cf],
  [0x1f18e, 0x1f18e],
  [0x1f191, 0x1f19a],
  [0x1f200, 0x1f202],
  [0x1f210, 0x1f23b],
  [0x1f240, 0x1f248],
  [0x1f250, 0x1f251],
  [0x1f260, 0x1f265],
  [0x1f300, 0x1f320],
  [0x1f32d, 0x1f335],
  [0x1f337, 0x1f37c],
  [0x1f37e, 0x1f393],
  [0x1f3a0, 0x1f3ca],
  [0x1f3cf, 0x1f3d3],
  [0x1f3e0, 0x1f3f0],
  [0x1f3f4, 0x1f3f4],
  [0x1f3f8, 0x1f43e],
  [0x1f440, 0x1f440],
  [0x1f442, 0x1f4fc],
  [0x1f4ff, 0x1f53d],
  [0x1f54b, 0x1f54e],
  [0x1f550, 0x1f567],
  [0x1f57a, 0x1f57a],
  [0x1f595, 0x1f596],
  [0x1f5a4, 0x1f5a4],
  [0x1f5fb, 0x1f64f],
  [0x1f680, 0x1f6c5],
  [0x1f6cc, 0x1f6cc],
  [0x1f6d0, 0x1f6d2],
  [0x1f6d5, 0x1f6d5],
  [0x1f6eb, 0x1f6ec],
  [0x1f6f4, 0x1f6fa],
  [0x1f7e0, 0x1f7eb],
  [0x1f90d, 0x1f971],
  [0x1f973, 0x1f976],
  [0x1f97a, 0x1f9a2],
  [0x1f9a5, 0x1f9aa],
  [0x1f9ae, 0x1f9ca],
  [0x1f9cd, 0x1f9ff],
  [0x1fa70, 0x1fa73],
  [0x1fa78, 0x1fa7a],
  [0x1fa80, 0x1fa82],
  [0x1fa90, 0x1fa95],
];

export function isExtraWide(codePoint: number): boolean {
  let lo = 0;
  let hi = WIDE_RANGES.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const range = WIDE_RANGES[mid];
    if (range === undefined) return false; // never: lo <= mid <= hi, all within the table
    const [start, end] = range;
    if (codePoint < start) hi = mid - 1;
    else if (codePoint > end) lo = mid + 1;
    else return true;
  }
  return false;
}

const hex = (unit: number) => `\\u${unit.toString(16).padStart(4, '0')}`;

/** A non-`u` regex alternative matching code points start..end as UTF-16 (blessed's regexes work on code units). */
function rangeSource(start: number, end: number): string[] {
  if (end <= 0xffff) return [`[${hex(start)}-${hex(end)}]`];
  const parts: string[] = [];
  for (let cp = start; cp <= end;) {
    const high = 0xd800 + ((cp - 0x10000) >> 10);
    const blockEnd = Math.min(end, 0x10000 + ((high - 0xd800 + 1) << 10) - 1);
    const lowStart = 0xdc00 + ((cp - 0x10000) & 0x3ff);
    const lowEnd = 0xdc00 + ((blockEnd - 0x10000) & 0x3ff);
    parts.push(`${hex(high)}[${hex(lowStart)}-${hex(lowEnd)}]`);
    cp = blockEnd + 1;
  }
  return parts;
}

let unicodeModule: BlessedUnicode | null = null;

/** Patch blessed's width tables once per process. Idempotent. */
export function patchBlessedWidths(): BlessedUnicode {
  // Kept: require() resolves the path on every call, which showed up in the bench profile.
  if (unicodeModule) return unicodeModule;
  const unicode = require('blessed/lib/unicode') as BlessedUnicode;
  unicodeModule = unicode;
  if (unicode.__p2pPatched) return unicode;
  unicode.__p2pPatched = true;
  const original = unicode.charWidth.bind(unicode);
  unicode.charWidth = (str: string | number, i = 0): number => {
    const point = typeof str === 'number' ? str : str.codePointAt(i);
    if (point !== undefined && isExtraWide(point)) return 2;
    return original(str, i);
  };
  const extra = WIDE_RANGES.flatMap(([s, e]) => rangeSource(s, e)).join('|');
  unicode.chars.all = new RegExp(`(${unicode.chars.all.source.slice(1, -1)}|${extra})`, 'g');
  return unicode;
}

/** Cells a string takes on the terminal, as blessed (patched) counts them. */
export function textWidth(text: string): number {
  return (unicodeModule ?? patchBlessedWidths()).strWidth(text);
}

/**
 * What a row costs against a box's width as blessed 0.1.81 cuts it: UTF-16 code units,
 * plus the filler cell it adds after each wide character. That is the cells the row takes
 * for ASCII and CJK, but one more for an emoji (a surrogate pair) or a combining mark, which
 * blessed would otherwise clip off the row's end. Never less than the cells.
 */
export function rowCost(text: string): number {
  let cost = text.length;
  for (const ch of text) if (ch.charCodeAt(0) >= 0x1100 && textWidth(ch) === 2) cost += 1;
  return cost;
}

/** Cut to at most `width` (as rowCost counts), marking a cut with an ellipsis: it fits one row. */
export function fitRow(text: string, width: number): string {
  if (width <= 0) return '';
  if (rowCost(text) <= width) return text;
  let out = '';
  let cost = 0;
  for (const ch of text) {
    const c = rowCost(ch);
    if (cost + c > width - 1) break;
    out += ch;
    cost += c;
  }
  return `${out}…`;
}
