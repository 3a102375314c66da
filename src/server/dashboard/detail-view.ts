/**
 * The detail overlay Enter opens (a user, a broadcast, an event): the lines of a live source,
 * rebuilt every second while it is open, long lines wrapped rather than cut. The arrow and
 * page keys scroll it; Esc (or Enter) goes back to the panes.
 */
import type { Widgets } from 'blessed';
import { safeText } from './format.ts';

export interface DetailSource {
  title: string;
  /** The current lines, plain text (escaped here). */
  lines(now: number): string[];
}

export class DetailView {
  private source: DetailSource | null = null;

  constructor(private readonly box: Widgets.BoxElement) {}

  get isOpen(): boolean {
    return this.source !== null;
  }

  open(source: DetailSource, now: number): void {
    this.source = source;
    this.box.setLabel(` ${safeText(source.title)} · Esc back `);
    this.refresh(now);
    this.box.setScroll(0);
    this.box.show();
    this.box.setFront();
  }

  close(): void {
    this.source = null;
    this.box.hide();
  }

  refresh(now: number): void {
    if (!this.source) return;
    this.box.setContent(this.source.lines(now).map(safeText).join('\n'));
  }

  scrollBy(lines: number): void {
    this.box.scroll(lines);
  }

  get pageSize(): number {
    return Math.max(1, (this.box.height as number) - 3);
  }
}
