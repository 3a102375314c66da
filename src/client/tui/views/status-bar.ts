/** Bottom row: who and where we are, the state of the TCP and UDP paths, the server's fingerprint, open chats. */
import blessed from 'blessed';
import { LAYOUT } from '../layout.ts';
import { plainLine, plural, shortFingerprint } from '../text.ts';

export const LinkState = { CONNECTED: 'connected', RECONNECTING: 'reconnecting', DOWN: 'down' } as const;
export type LinkState = (typeof LinkState)[keyof typeof LinkState];

export interface StatusInfo {
  user: string;
  server: string;
  tcp: LinkState;
  udp: LinkState;
  fingerprint: string | null;
  sessions: number;
  /** A short note: "reconnecting in 2 s", "server lost". */
  note: string;
}

const COLOR: Record<LinkState, string> = {
  [LinkState.CONNECTED]: 'green',
  [LinkState.RECONNECTING]: 'yellow',
  [LinkState.DOWN]: 'red',
};

export function statusText(s: StatusInfo): string {
  const link = (name: string, state: LinkState) => `${name} {${COLOR[state]}-fg}${state}{/${COLOR[state]}-fg}`;
  const parts = [
    `{bold}${plainLine(s.user)}{/bold} @ ${plainLine(s.server)}`,
    link('TCP', s.tcp),
    link('UDP', s.udp),
    `fp ${s.fingerprint ? shortFingerprint(s.fingerprint) : '-'}`,
    plural(s.sessions, 'chat'),
  ];
  if (s.note) parts.push(`{yellow-fg}${plainLine(s.note)}{/yellow-fg}`);
  else parts.push('F1 help');
  return ` ${parts.join(' │ ')}`;
}

export class StatusBar {
  readonly box: blessed.Widgets.BoxElement;

  constructor(parent: blessed.Widgets.Node) {
    this.box = blessed.box({ parent, ...LAYOUT.status, tags: true, style: { bg: 'black', fg: 'white' } });
  }

  update(info: StatusInfo): void {
    this.box.setContent(statusText(info));
  }
}
