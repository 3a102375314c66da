/**
 * One readable line per server event for the event-log pane. The JSON log carries the same
 * records as fields; this is only their wording. Every value is sanitized and escaped: a
 * failed login's username is whatever the client sent.
 */
import type { LogLevel } from '../log.ts';
import { formatClock, safeText } from './format.ts';

type Fields = Record<string, unknown>;
type Formatter = (f: Fields) => string;

const s = safeText;

/** Wording for the events we know; anything else (a feature's new event) gets the generic form. */
const EVENT_TEXT: Record<string, Formatter> = {
  listening: (f) => `listening on ${s(f.host)} TCP ${s(f.tcpPort)} UDP ${s(f.udpPort)}, ${s(f.users)} accounts`,
  connection: (f) => `connection #${s(f.conn)} from ${s(f.ip)} (${s(f.connections)} open)`,
  disconnect: (f) => `connection #${s(f.conn)} ${f.user ? `(${s(f.user)}) ` : ''}from ${s(f.ip)} closed: ${s(f.reason)}`,
  refused: (f) => `refused ${s(f.ip)}: ${s(f.reason)}`,
  register: (f) => `registered {bold}${s(f.user)}{/bold} from ${s(f.ip)}`,
  login: (f) => `login {bold}${s(f.user)}{/bold} from ${s(f.ip)}${f.replaced ? ' (replaced an older session)' : ''}`,
  login_failed: (f) => `failed login for "${s(f.user)}" from ${s(f.ip)} (${s(f.code)})`,
  logout: (f) => `logout ${s(f.user)} from ${s(f.ip)}: ${s(f.reason)}`,
  udp_path: (f) => `UDP path of ${s(f.user)} is ${s(f.state)}`,
  protocol_error: (f) => `protocol error from #${s(f.conn)} ${s(f.ip)}: ${s(f.code)} ${s(f.message)}`,
  udp_drop: (f) => `dropped a datagram from ${s(f.address)} (${s(f.reason)})`,
  server_error: (f) => `error in ${s(f.where)}: ${s(f.message)}`,
  shutdown: (f) => `shutting down (${s(f.by ?? f.signal ?? 'request')})`,
  console: (f) => `console.${s(f.method)}: ${s(f.text)}`,
};

function genericText(event: string, fields: Fields): string {
  const pairs = Object.entries(fields).map(([k, v]) => `${s(k)}=${s(typeof v === 'object' && v !== null ? JSON.stringify(v) : v)}`);
  return [s(event), ...pairs].join(' ');
}

const LEVEL_STYLE: Record<LogLevel, { tag: string; text: string }> = {
  debug: { tag: 'gray-fg', text: 'DEBUG' },
  info: { tag: 'white-fg', text: 'INFO ' },
  warn: { tag: 'yellow-fg', text: 'WARN ' },
  error: { tag: 'red-fg', text: 'ERROR' },
};

/** "12:04:05 WARN  failed login for "bob" from 127.0.0.1 (E_AUTH_FAILED)", with blessed tags. */
export function eventLine(at: number, level: LogLevel, event: string, fields: object): string {
  const format = EVENT_TEXT[event];
  const text = format ? format(fields as Fields) : genericText(event, fields as Fields);
  const style = LEVEL_STYLE[level];
  return `${formatClock(at)} {${style.tag}}${style.text}{/${style.tag}} ${text}`;
}
