/**
 * The saved history (src/client/history/) in the tabs: chat lines and broadcasts are saved as
 * they are shown; a chat tab opened for someone gets the newest saved page above a "new since"
 * marker, and older pages are read from the store as the user scrolls up (the tab holds at most
 * MAX_TAB_LINES, the pane draws only what is on screen); the inbox and the input history come
 * back at start. A failing disk never stops the chat: the first failure is noted, once.
 */
import { describeError } from './errors-text.ts';
import type { HistoryStore, SavedChatLine } from '../history/store.ts';
import { Subscriptions } from '../../util/emitter.ts';
import { MAX_HISTORY_ENTRIES, type InputHistory } from './line-editor.ts';
import { LineKind, type Tab, type TabLine, type TabsModel } from './tabs.ts';

/** Saved lines read into a tab at a time (on open, and per page when scrolling up). */
export const HISTORY_PAGE_LINES = 1_000;

export interface TabHistoryHost {
  readonly tabs: TabsModel;
  readonly input: InputHistory;
  now(): number;
  /** A line in plain words in the inbox (history problems). */
  note(text: string): void;
}

export class TabHistory {
  private readonly subscriptions = new Subscriptions();
  private readonly loading = new Set<Tab>();
  private readonly broadcastIds: Set<string>;
  private host: TabHistoryHost | null = null;
  private failed = false;

  private constructor(
    readonly store: HistoryStore,
    private readonly savedBroadcasts: TabLine[],
    private readonly savedInput: string[],
    private readonly pageLines: number,
  ) {
    this.broadcastIds = new Set(savedBroadcasts.flatMap((b) => (b.id === undefined ? [] : [b.id])));
  }

  /** Read what the inbox and the input line start with. */
  static async load(store: HistoryStore, pageLines = HISTORY_PAGE_LINES): Promise<TabHistory> {
    const broadcasts = (await store.broadcasts()).map((b): TabLine => ({
      kind: LineKind.BROADCAST,
      at: b.at,
      from: b.from,
      text: b.text,
      id: b.id,
    }));
    return new TabHistory(store, broadcasts, await store.inputLines(MAX_HISTORY_ENTRIES), pageLines);
  }

  /** Fill the inbox and the input history, then save what the tabs show from now on. */
  attach(host: TabHistoryHost): void {
    this.host = host;
    if (this.store.movedAside)
      host.note(
        `The saved history did not open with this password (an account made again, or a password changed elsewhere); it was moved to ${this.store.movedAside} and a new one starts.`,
      );
    host.tabs.addSaved(host.tabs.inbox, this.savedBroadcasts, 0, host.now());
    for (const line of this.savedInput) host.input.push(line);
    const listen = this.subscriptions.listen.bind(this.subscriptions);
    listen(host.tabs, 'line', (tab, line) => this.save(tab, line));
    listen(host.tabs, 'opened', (tab, session, reused) => {
      // A reused tab already shows the earlier lines.
      if (!reused) void this.loadNewest(tab, session.peer.user, host.now());
    });
  }

  /** A broadcast saved in an earlier run (the server delivers unexpired ones again at login). */
  hasBroadcast(id: string): boolean {
    return this.broadcastIds.has(id);
  }

  saveInput(line: string): void {
    this.guard(this.store.saveInput(line));
  }

  /** /passwd succeeded: the data key is wrapped under the new password. */
  changePassword(password: string): Promise<void> {
    return this.store.changePassword(password);
  }

  /**
   * Read the page before the oldest line shown; false when there is none (or a read is under
   * way). Positions count from the start of the log: should the log be rewritten to its bound
   * meanwhile (16 MiB, so rarely), a page may repeat or skip lines, never show another's.
   */
  async loadOlder(tab: Tab): Promise<boolean> {
    const peer = tab.session?.peer.user;
    const host = this.host;
    if (!host || peer === undefined || tab.savedBefore === 0 || this.loading.has(tab)) return false;
    this.loading.add(tab);
    try {
      const log = await this.store.chat(peer);
      const end = Math.min(tab.savedBefore, log.count);
      const start = Math.max(0, end - this.pageLines);
      host.tabs.addSaved(tab, (await log.lines(start, end)).map(chatLine), start);
      return true;
    } catch (err) {
      this.report(err);
      return false;
    } finally {
      this.loading.delete(tab);
    }
  }

  async close(): Promise<void> {
    this.subscriptions.dispose();
    await this.store.close();
  }

  private async loadNewest(tab: Tab, peer: string, openedAt: number): Promise<void> {
    const host = this.host;
    if (!host) return;
    this.loading.add(tab);
    try {
      const log = await this.store.chat(peer);
      // Taken before any line of this chat is written: those are in the tab already.
      const end = log.count;
      const start = Math.max(0, end - this.pageLines);
      const lines = (await log.lines(start, end)).map(chatLine);
      if (host.tabs.tabs.includes(tab)) host.tabs.addSaved(tab, lines, start, openedAt);
    } catch (err) {
      this.report(err);
    } finally {
      this.loading.delete(tab);
    }
  }

  private save(tab: Tab, line: TabLine): void {
    if (line.kind === LineKind.BROADCAST && tab === this.host?.tabs.inbox && line.id !== undefined) {
      this.broadcastIds.add(line.id);
      this.guard(this.store.saveBroadcast({ id: line.id, at: line.at, from: line.from, text: line.text }));
    } else if ((line.kind === LineKind.OWN || line.kind === LineKind.PEER) && tab.session) {
      const saved: SavedChatLine = { at: line.at, from: line.from, text: line.text, own: line.kind === LineKind.OWN };
      this.guard(this.store.chat(tab.session.peer.user).then((log) => log.append(saved)));
    }
  }

  private guard(write: Promise<void>): void {
    write.catch((err: unknown) => this.report(err));
  }

  private report(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.host?.note(`History is not being saved: ${describeError(err)}`);
  }
}

function chatLine(l: SavedChatLine): TabLine {
  return { kind: l.own ? LineKind.OWN : LineKind.PEER, at: l.at, from: l.from, text: l.text };
}
