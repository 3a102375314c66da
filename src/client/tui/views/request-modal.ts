/**
 * An incoming chat request: who asks (username and IP), how long is left before it counts
 * as declined, and the keys. The main screen owns the queue and the timer; this draws one.
 */
import blessed from 'blessed';
import type { IncomingRequest } from '../sources.ts';
import { plainLine } from '../text.ts';

export const MODAL_WIDTH = 60;

export function secondsLeft(request: IncomingRequest, now: number): number {
  return Math.max(0, Math.ceil((request.expiresAt - now) / 1000));
}

export class RequestModal {
  readonly box: blessed.Widgets.BoxElement;

  constructor(parent: blessed.Widgets.Node) {
    this.box = blessed.box({
      parent,
      top: 'center',
      left: 'center',
      width: MODAL_WIDTH,
      height: 9,
      border: 'line',
      tags: true,
      label: ' Chat request ',
      style: { border: { fg: 'yellow' } },
      hidden: true,
    });
  }

  get visible(): boolean {
    return !this.box.hidden;
  }

  show(request: IncomingRequest, now: number, waiting: number): void {
    const left = secondsLeft(request, now);
    const lines = [
      `{bold}${plainLine(request.from.user)}{/bold} (${plainLine(request.from.ip)}) wants to chat with you.`,
      '',
      `Answer within {bold}${left} s{/bold}; after that it counts as declined.`,
      '',
      '{green-fg}y{/green-fg} accept    {red-fg}n{/red-fg} / {red-fg}Esc{/red-fg} decline',
      waiting > 0 ? `{gray-fg}${waiting} more waiting{/gray-fg}` : '',
    ];
    this.box.setContent(lines.join('\n'));
    this.box.show();
    this.box.setFront();
  }

  hide(): void {
    this.box.hide();
  }
}
