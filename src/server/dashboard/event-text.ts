/**
 * One readable line per server event for the event-log pane. The JSON log carries the same
 * records as fields; this is only their wording. Every value is sanitized (a failed login's
 * username is whatever the client sent) and escaped for blessed's tag parser when drawn.
 */
import blessed from 'blessed';
import { sanitizeLine } from '../../net/sanitize.ts';
import type { LogLevel } from '../log.ts';
import { fitRow } from '../../term/unicode-width.ts';
import { formatClock, shortId } from './format.ts';

type Fields = Record<string, unknown>;
type Formatter = (f: Fields) => string;

const s = (value: unknown): string => sanitizeLine(String(value));
const id = (value: unknown): string => shortId(s(value));

/** Wording for the events we know; anything else (a feature's new event) gets the generic form. */
const EVENT_TEXT: Record<string, Formatter> = {
  listening: (f) => `listening on ${s(f.host)} TCP ${s(f.tcpPort)} UDP ${s(f.udpPort)}, ${s(f.users)} accounts`,
  connection: (f) => `connection #${s(f.conn)} from ${s(f.ip)} (${s(f.connections)} open)`,
  disconnect: (f) =>
    `connection #${s(f.conn)} ${f.user ? `(${s(f.user)}) ` : ''}from ${s(f.ip)} closed: ${s(f.reason)}`,
  refused: (f) => `refused ${s(f.ip)}: ${s(f.reason)}`,
  handshake_failed: (f) => `no TLS session with ${s(f.ip)}: ${s(f.reason)}`,
  register: (f) => `registered ${s(f.user)} from ${s(f.ip)}`,
  login: (f) => `login ${s(f.user)} from ${s(f.ip)}${f.replaced ? ' (replaced an older session)' : ''}`,
  login_failed: (f) => `failed login for "${s(f.user)}" from ${s(f.ip)} (${s(f.code)})`,
  logout: (f) => `logout ${s(f.user)} from ${s(f.ip)}: ${s(f.reason)}`,
  account: (f) =>
    `account ${s(f.user)} from ${s(f.ip)}: ${f.change === 'deleted' ? 'deleted' : f.change === 'password' ? 'password changed' : 'password hash re-made at the current cost'}${Number(f.closed) > 0 ? ` (${s(f.closed)} other session(s) closed)` : ''}`,
  udp_path: (f) => `UDP path of ${s(f.user)} is ${s(f.state)}`,
  protocol_error: (f) => `protocol error from #${s(f.conn)} ${s(f.ip)}: ${s(f.code)} ${s(f.message)}`,
  udp_drop: (f) => `dropped a datagram from ${s(f.address)} (${s(f.reason)})`,
  server_error: (f) => `error in ${s(f.where)}: ${s(f.message)}`,
  peer_request: (f) => `peer request ${s(f.from)} (${s(f.fromIp)}) -> ${s(f.to)} (${s(f.toIp)})`,
  peer_result: (f) => `peer request ${s(f.from)} -> ${s(f.to)}: ${s(f.outcome)}`,
  relay_ticket: (f) =>
    `relay ticket for ${s(f.user)} (chat with ${s(f.peer)})${f.code ? ` refused: ${s(f.code)}` : ''}`,
  relay_refused: (f) =>
    `relay connection from ${s(f.ip)}${f.user ? ` (${s(f.user)})` : ''} refused: ${s(f.code)} ${s(f.reason)}`,
  relay_open: (f) => `relaying ${s(f.from)} (${s(f.fromIp)}) <-> ${s(f.to)} (${s(f.toIp)}), ${s(f.circuits)} relayed`,
  relay_closed: (f) =>
    `relay ${s(f.from)} <-> ${s(f.to)} ended after ${Math.round(Number(f.durationMs) / 1000)} s, ${s(f.up)} B / ${s(f.down)} B${f.code ? ` (${s(f.code)})` : ''}: ${s(f.reason)}`,
  broadcast_created: (f) =>
    `broadcast ${id(f.bid)} from ${s(f.from)}: "${s(f.preview)}" (${s(f.bytes)} B, ${s(f.pending)} pending)`,
  broadcast_refused: (f) => `broadcast from ${s(f.user)} refused (${s(f.code)})`,
  broadcast_fanout: (f) =>
    `broadcast ${id(f.bid)} sent to ${s(f.recipients)} online (UDP ${s(f.udp)}, TCP ${s(f.tcp)}) in ${s(f.ms)} ms`,
  broadcast_delivered: (f) => `broadcast ${id(f.bid)} acknowledged by all ${s(f.registered)} users`,
  broadcast_expired: (f) =>
    `broadcast ${id(f.bid)} from ${s(f.from)} expired, acknowledged by ${s(f.acked)} of ${s(f.registered)}`,
  shutdown: (f) => `shutting down (${s(f.by ?? 'request')})`,
  console: (f) => `console.${s(f.method)}: ${s(f.text)}`,
  process_warning: (f) => `${s(f.name)}: ${s(f.message)}`,
};

function genericText(event: string, fields: Fields): string {
  const pairs = Object.entries(fields).map(
    ([k, v]) => `${s(k)}=${s(typeof v === 'object' && v !== null ? JSON.stringify(v) : v)}`,
  );
  return [s(event), ...pairs].join(' ');
}

/** The event in words: plain, one line, safe for a terminal (not yet escaped for tags). */
export function eventText(event: string, fields: object): string {
  const format = EVENT_TEXT[event];
  return format ? format(fields as Fields) : genericText(event, fields as Fields);
}

const LEVEL_STYLE: Record<LogLevel, { tag: string; text: string }> = {
  debug: { tag: 'gray-fg', text: 'DEBUG' },
  info: { tag: 'white-fg', text: 'INFO ' },
  warn: { tag: 'yellow-fg', text: 'WARN ' },
  error: { tag: 'red-fg', text: 'ERROR' },
};
/** "12:04:05 WARN  ": clock, level and the spaces after them. */
export const EVENT_PREFIX_CHARS = 15;

/**
 * "12:04:05 WARN  failed login for "bob" from 127.0.0.1 (E_AUTH_FAILED)", with blessed tags
 * for the level's colour; cut to `maxChars` when given (measured as blessed cuts a row: wide
 * characters and emoji count what they take), so it takes exactly one row.
 */
export function eventLine(at: number, level: LogLevel, text: string, maxChars?: number): string {
  const style = LEVEL_STYLE[level];
  const body = maxChars === undefined ? text : fitRow(text, Math.max(1, maxChars - EVENT_PREFIX_CHARS));
  return `${formatClock(at)} {${style.tag}}${style.text}{/${style.tag}} ${blessed.escape(body)}`;
}
