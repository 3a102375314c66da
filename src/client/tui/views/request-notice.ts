/**
 * An incoming chat request, as a notice above the input line: who asks (username and IP),
 * how long is left before it counts as declined, and the keys. It takes no keys itself: typing
 * goes on into the input line, and only Alt-Y / Alt-N (or /accept, /decline) answer, keys no
 * one types by accident. The main screen owns the queue and the timer; this draws one.
 */
import blessed from 'blessed';
import type { IncomingRequest } from '../sources.ts';
import { plainLine } from '../text.ts';

/** Rows of the notice, borders included. */
export const NOTICE_HEIGHT = 4;

export function secondsLeft(request: IncomingRequest, now: number): number {
  return Math.max(0, Math.ceil((request.expiresAt - now) / 1000));
}

export class RequestNotice {
  readonly box: blessed.Widgets.BoxElement;

  constructor(parent: blessed.Widgets.Node) {
    this.box = blessed.box({
      parent,
      left: 0,
      width: '100%',
      height: NOTICE_HEIGHT,
      bottom: 0,
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

  /** `bottom`: rows below the notice (the input line and the status bar). */
  show(request: IncomingRequest, now: number, waiting: number, bottom: number): void {
    const left = secondsLeft(request, now);
    const more = waiting > 0 ? `   {gray-fg}${waiting} more waiting{/gray-fg}` : '';
    const lines = [
      `{bold}${plainLine(request.from.user)}{/bold} (${plainLine(request.from.ip)}) wants to chat with you. Answer within {bold}${left} s{/bold}.`,
      `{green-fg}Alt-Y{/green-fg} accept   {red-fg}Alt-N{/red-fg} decline   (or /accept, /decline)${more}`,
    ];
    this.box.bottom = bottom;
    this.box.setContent(lines.join('\n'));
    this.box.show();
    this.box.setFront();
  }

  hide(): void {
    this.box.hide();
  }
}
