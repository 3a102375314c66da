/** Bottom row: who and where we are, the state of the TCP and UDP paths, the server's fingerprint, open chats. */
import blessed from 'blessed';
import { ClientState, UdpState } from '../../client.ts';
import { LAYOUT } from '../layout.ts';
import type { Tab } from '../tabs.ts';
import { plainLine, plural, shortFingerprint } from '../text.ts';
import { textWidth } from '../../../term/unicode-width.ts';

export const LinkState = { CONNECTED: 'connected', RECONNECTING: 'reconnecting', DOWN: 'down' } as const;
export type LinkState = (typeof LinkState)[keyof typeof LinkState];

export interface StatusInfo {
  user: string;
  server: string;
  tcp: LinkState;
  udp: LinkState;
  fingerprint: string | null;
  sessions: number;
  /** The user list is folded away (a narrow terminal): say which key shows it. */
  usersFolded?: boolean;
  /** Our own away state: the reason ('' for none), or null when available. */
  away?: string | null;
  /** A short note: "reconnecting in 2 s", "server lost". */
  note: string;
  /** What opened in the background: "new chat: 2 bob (Alt-A)". */
  news?: string;
  /** Files moving (PROTOCOL.md 6.7): "↓ photo.jpg 45% ...", or '' / absent. */
  files?: string;
}

const COLOR: Record<LinkState, string> = {
  [LinkState.CONNECTED]: 'green',
  [LinkState.RECONNECTING]: 'yellow',
  [LinkState.DOWN]: 'red',
};

/** Segments in the order shown; those that do not fit the width are dropped from the end. */
export function statusText(s: StatusInfo, width = Number.POSITIVE_INFINITY): string {
  const link = (name: string, state: LinkState): [string, string] => [
    `${name} ${state}`,
    `${name} {${COLOR[state]}-fg}${state}{/${COLOR[state]}-fg}`,
  ];
  // Folded (a narrow terminal), the server's address gives way to the key that shows the user list.
  const who: [string, string] = s.usersFolded
    ? [s.user, `{bold}${plainLine(s.user)}{/bold}`]
    : [`${s.user} @ ${s.server}`, `{bold}${plainLine(s.user)}{/bold} @ ${plainLine(s.server)}`];
  const segments: Array<[plain: string, tagged: string]> = [who];
  // News first after who we are: it says where to look, and is gone once looked at.
  if (s.news) segments.push([s.news, `{yellow-fg}{bold}${plainLine(s.news)}{/bold}{/yellow-fg}`]);
  if (typeof s.away === 'string') segments.push(['away', '{yellow-fg}{bold}away{/bold}{/yellow-fg}']);
  segments.push(link('TCP', s.tcp), link('UDP', s.udp));
  if (s.usersFolded) segments.push(['F2 users', 'F2 users']);
  if (s.note) segments.push([s.note, `{yellow-fg}${plainLine(s.note)}{/yellow-fg}`]);
  if (s.files) segments.push([s.files, `{cyan-fg}${plainLine(s.files)}{/cyan-fg}`]);
  segments.push([plural(s.sessions, 'chat'), plural(s.sessions, 'chat')]);
  const fp = `fp ${s.fingerprint ? shortFingerprint(s.fingerprint) : '-'}`;
  segments.push([fp, fp], ['F1 help', 'F1 help']);
  const SEPARATOR = ' │ ';
  let used = 1;
  const shown: string[] = [];
  for (const [plain, tagged] of segments) {
    const cost = textWidth(plain) + (shown.length ? SEPARATOR.length : 0);
    if (used + cost > width && shown.length > 0) break;
    used += cost;
    shown.push(tagged);
  }
  return ` ${shown.join(SEPARATOR)}`;
}

/** New chats opened in the background, for the status line: "new chat: 2 bob (Alt-A)". */
export function newsText(tabs: readonly Tab[]): string {
  const fresh = tabs.flatMap((t, i) => (t.attention && t.session ? [`${i + 1} ${t.session.peer.user}`] : []));
  return fresh.length === 0 ? '' : `new chat: ${fresh.join(', ')} (Alt-A)`;
}

export class StatusBar {
  readonly box: blessed.Widgets.BoxElement;

  constructor(parent: blessed.Widgets.Node) {
    this.box = blessed.box({ parent, ...LAYOUT.status, tags: true, style: { bg: 'black', fg: 'white' } });
  }

  update(info: StatusInfo): void {
    this.box.setContent(statusText(info, this.box.width as number));
  }
}

export function tcpState(state: ClientState): LinkState {
  if (state === ClientState.ONLINE) return LinkState.CONNECTED;
  if (state === ClientState.IDLE || state === ClientState.CLOSED) return LinkState.DOWN;
  return LinkState.RECONNECTING;
}

/** The UDP path only counts while logged in: its keys die with the TCP session. */
export function udpState(client: ClientState, udp: UdpState): LinkState {
  if (client !== ClientState.ONLINE) return LinkState.DOWN;
  if (udp === UdpState.ALIVE) return LinkState.CONNECTED;
  return udp === UdpState.CONNECTING ? LinkState.RECONNECTING : LinkState.DOWN;
}
