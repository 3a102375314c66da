/** Small text formatters shared by the dashboard panes (pure, so they are tested directly). */
import blessed from 'blessed';
import { sanitizeLine } from '../../net/sanitize.ts';

const KIB = 1024;
const MIB = KIB * 1024;
const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

const two = (n: number): string => String(n).padStart(2, '0');

/** Untrusted text for a pane that parses blessed tags: one line, no escapes, braces escaped. */
export function safeText(value: unknown): string {
  return blessed.escape(sanitizeLine(String(value)));
}

/** Hex ids (broadcasts) as a prefix, as git's short hashes: enough to tell them apart at a glance. */
export const SHORT_ID_CHARS = 8;
export const shortId = (id: string): string => id.slice(0, SHORT_ID_CHARS);

/** Cut to `max` characters (code points, so an emoji is never split), marking the cut. */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
}

export function formatBytes(bytes: number): string {
  if (bytes >= MIB) return `${(bytes / MIB).toFixed(1)} MB`;
  if (bytes >= KIB) return `${(bytes / KIB).toFixed(1)} kB`;
  return `${bytes} B`;
}

/** 3725000 -> "1:02:05"; over a day "2d 03:04". */
export function formatUptime(ms: number): string {
  const days = Math.floor(ms / DAY_MS);
  const rest = ms - days * DAY_MS;
  const h = Math.floor(rest / HOUR_MS);
  const m = Math.floor((rest % HOUR_MS) / MINUTE_MS);
  const s = Math.floor((rest % MINUTE_MS) / 1000);
  return days > 0 ? `${days}d ${two(h)}:${two(m)}` : `${h}:${two(m)}:${two(s)}`;
}

/** "just now", "5m ago", "3h ago", "12d ago". */
export function formatAgo(ms: number): string {
  if (ms < MINUTE_MS) return 'just now';
  if (ms < HOUR_MS) return `${Math.floor(ms / MINUTE_MS)}m ago`;
  if (ms < DAY_MS) return `${Math.floor(ms / HOUR_MS)}h ago`;
  return `${Math.floor(ms / DAY_MS)}d ago`;
}

/** Local "YYYY-MM-DD HH:MM": the operator reads the dashboard in their own time zone. */
export function formatDateTime(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())}`;
}

/** Local "HH:MM:SS". */
export function formatClock(ms: number): string {
  const d = new Date(ms);
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}
