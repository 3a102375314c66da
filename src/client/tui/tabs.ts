/**
 * The tabs of the main screen as data: the Broadcasts inbox (always first) and one tab per
 * peer session, each with a bounded scrollback, an unread count and a scroll offset. A chat
 * tab follows its session (messages, delivery states, typing, the end) until it is removed;
 * every change is announced by `changed`, so whoever draws never edits a tab itself. No
 * blessed here; the views draw it.
 */
import { sameUser } from '../../net/names.ts';
import { Emitter, Subscriptions } from '../../util/emitter.ts';
import { KillRing, LineEditor } from './line-editor.ts';
import type { ChatEntry, ChatSessionView, Delivery } from './sources.ts';

/** Lines kept per tab; older ones are dropped (the bench fills a tab with 10,000). */
export const MAX_TAB_LINES = 10_000;

export const LineKind = { OWN: 'own', PEER: 'peer', SYSTEM: 'system', BROADCAST: 'broadcast' } as const;
export type LineKind = (typeof LineKind)[keyof typeof LineKind];

export interface TabLine {
  kind: LineKind;
  at: number;
  from: string;
  text: string;
  id?: string;
  delivery?: Delivery;
}

/** A ring of at most `limit` lines, with lookup by id for delivery updates (own lines only: nothing else changes after it is shown). */
export class Scrollback {
  private readonly lines: TabLine[] = [];
  private head = 0;
  private readonly byId = new Map<string, TabLine>();
  private pushed = 0;

  constructor(readonly limit = MAX_TAB_LINES) {}

  get length(): number {
    return this.lines.length;
  }

  /** Lines ever pushed: line `i` is number `total - length + i` of them (what a read mark counts). */
  get total(): number {
    return this.pushed;
  }

  push(line: TabLine): void {
    this.pushed += 1;
    if (this.lines.length < this.limit) {
      this.lines.push(line);
    } else {
      const dropped = this.at(0); // full, so the oldest is at head
      if (dropped.id !== undefined && dropped.delivery !== undefined) this.byId.delete(dropped.id);
      this.lines[this.head] = line;
      this.head = (this.head + 1) % this.limit;
    }
    if (line.id !== undefined && line.delivery !== undefined) this.byId.set(line.id, line);
  }

  /** Line `i`, 0 = oldest kept. */
  at(i: number): TabLine {
    const line = this.lines[(this.head + i) % this.lines.length];
    if (line === undefined) throw new RangeError(`no line ${i} of ${this.lines.length}`);
    return line;
  }

  get(id: string): TabLine | undefined {
    return this.byId.get(id);
  }

  /** Lines [start, end) oldest first. */
  slice(start: number, end: number): TabLine[] {
    const out: TabLine[] = [];
    for (let i = Math.max(0, start); i < Math.min(end, this.lines.length); i++) out.push(this.at(i));
    return out;
  }
}

export const TabKind = { INBOX: 'inbox', CHAT: 'chat' } as const;
export type TabKind = (typeof TabKind)[keyof typeof TabKind];

/**
 * Where the bottom of the messages view is: `lines` whole lines up from the newest, then
 * `rows` screen rows further up into the next one (a long line wraps to many rows). Lines are
 * counted here and rows by the view, which alone knows the width; {0, 0} follows new lines.
 */
export interface ScrollAnchor {
  lines: number;
  rows: number;
}

export const FOLLOWING: ScrollAnchor = Object.freeze({ lines: 0, rows: 0 });

export function isScrolled(anchor: ScrollAnchor): boolean {
  return anchor.lines > 0 || anchor.rows > 0;
}

export interface Tab {
  kind: TabKind;
  title: string;
  session: ChatSessionView | null;
  lines: Scrollback;
  unread: number;
  peerTyping: boolean;
  /** Why the session ended; the tab stays until closed so the chat can be read. */
  ended: string | null;
  /**
   * Scrollback.total when the user last left this tab: the lines from there on arrived while
   * they were away, and the view draws an unread marker above the first of them. Null until
   * the tab was first left.
   */
  readMark: number | null;
  /** A relayed chat that ended with the server was offered a new start once it came back. */
  reconnectOffered?: boolean;
  scroll: ScrollAnchor;
  /** What is being typed in this tab, unsent: each tab keeps its own, so a draft never moves to another person. */
  draft: LineEditor;
  /** Opened in the background and not visited yet (a new chat): marked in the tab bar, announced in the status line. */
  attention: boolean;
}

export interface TabsEvents {
  changed: [];
  /** A tab that was read got its first unread line. */
  bell: [];
  /** A chat tab was opened for a session; its history is added right after. */
  opened: [tab: Tab, session: ChatSessionView];
  /** A chat tab's session ended (`tab.ended` says why); the tab stays until removed. */
  ended: [tab: Tab, session: ChatSessionView];
}

/** Index (0 = oldest kept) of the first line that came after the read mark, or -1 for none. */
export function firstUnread(tab: Tab): number {
  const { readMark, lines } = tab;
  if (readMark === null || readMark >= lines.total) return -1;
  return Math.max(0, readMark - (lines.total - lines.length));
}

export class TabsModel extends Emitter<TabsEvents> {
  readonly tabs: Tab[];
  private currentIndex = 0;
  /** What each chat tab listens to on its session, undone when the tab goes. */
  private readonly following = new Map<Tab, Subscriptions>();
  /** One Ctrl-Y buffer for every draft, as readline has one for the whole line. */
  readonly kills = new KillRing();

  constructor(private readonly lineLimit = MAX_TAB_LINES) {
    super();
    this.tabs = [this.makeTab(TabKind.INBOX, 'Broadcasts', null)];
  }

  get inbox(): Tab {
    return this.tab(0);
  }

  get current(): Tab {
    return this.tab(this.currentIndex);
  }

  // The inbox is made in the constructor and never closed, and currentIndex is kept within
  // tabs: a missing tab here is a bug.
  private tab(i: number): Tab {
    const tab = this.tabs[i];
    if (tab === undefined) throw new RangeError(`no tab ${i} of ${this.tabs.length}`);
    return tab;
  }

  get index(): number {
    return this.currentIndex;
  }

  get openSessions(): number {
    return this.tabs.filter((t) => t.session && !t.ended).length;
  }

  tabFor(session: ChatSessionView): Tab | undefined {
    return this.tabs.find((t) => t.session === session);
  }

  /** The newest open tab with this peer. */
  tabForUser(user: string): Tab | undefined {
    return [...this.tabs].reverse().find((t) => t.session && !t.ended && sameUser(t.session.peer.user, user));
  }

  /**
   * Open a tab for a session and follow it: its history and new messages, delivery states,
   * typing and its end. It opens in the background, marked: the tab the user is in never changes by itself.
   */
  addSession(session: ChatSessionView): Tab {
    const title = session.connection ? `${session.peer.user} · ${session.connection.short}` : session.peer.user;
    const tab = this.makeTab(TabKind.CHAT, title, session);
    tab.attention = true;
    this.tabs.push(tab);
    this.emit('changed');
    this.emit('opened', tab, session);
    const subs = new Subscriptions();
    this.following.set(tab, subs);
    const add = (e: ChatEntry) =>
      this.append(tab, {
        kind: e.own ? LineKind.OWN : LineKind.PEER,
        at: e.at,
        from: e.from,
        text: e.text,
        id: e.id,
        delivery: e.delivery,
      });
    for (const e of session.history()) add(e);
    subs.listen(session, 'message', add);
    subs.listen(session, 'delivery', (id, state) => {
      const line = tab.lines.get(id);
      if (line) line.delivery = state;
      this.emit('changed');
    });
    subs.listen(session, 'typing', (on) => {
      tab.peerTyping = on;
      this.emit('changed');
    });
    subs.listen(session, 'closed', (reason) => {
      tab.ended = reason || 'closed';
      tab.peerTyping = false;
      this.emit('ended', tab, session);
      this.emit('changed');
    });
    if (!session.isOpen) {
      tab.ended = 'closed';
      this.emit('changed');
    }
    return tab;
  }

  append(tab: Tab, line: TabLine): void {
    tab.lines.push(line);
    // Keep the view still while the user reads older lines.
    if (isScrolled(tab.scroll)) tab.scroll = { lines: tab.scroll.lines + 1, rows: tab.scroll.rows };
    if (tab !== this.current && line.kind !== LineKind.OWN && line.kind !== LineKind.SYSTEM) {
      tab.unread += 1;
      if (tab.unread === 1) this.emit('bell');
    }
    this.emit('changed');
  }

  select(index: number): boolean {
    if (index < 0 || index >= this.tabs.length || index === this.currentIndex) return false;
    this.current.readMark = this.current.lines.total;
    this.currentIndex = index;
    this.current.unread = 0;
    this.current.attention = false;
    this.emit('changed');
    return true;
  }

  /** The next tab after the current one (wrapping) with a new chat or unread lines, as weechat's Alt-A. */
  nextWithActivity(): Tab | undefined {
    for (let step = 1; step < this.tabs.length; step++) {
      const tab = this.tab((this.currentIndex + step) % this.tabs.length);
      if (tab.attention || tab.unread > 0) return tab;
    }
    return undefined;
  }

  selectTab(tab: Tab): boolean {
    return this.select(this.tabs.indexOf(tab));
  }

  next(): boolean {
    return this.select((this.currentIndex + 1) % this.tabs.length);
  }

  previous(): boolean {
    return this.select((this.currentIndex - 1 + this.tabs.length) % this.tabs.length);
  }

  /** Remove a chat tab (the inbox stays). */
  remove(tab: Tab): void {
    const i = this.tabs.indexOf(tab);
    if (i <= 0) return;
    this.unfollow(tab);
    this.tabs.splice(i, 1);
    if (this.currentIndex >= i) this.currentIndex = Math.max(0, this.currentIndex - 1);
    this.current.unread = 0;
    this.current.attention = false;
    this.emit('changed');
  }

  /** The view works out the anchor (it knows the rows); see MessagesPane.scrolled(). */
  setScroll(tab: Tab, anchor: ScrollAnchor): void {
    if (anchor.lines === tab.scroll.lines && anchor.rows === tab.scroll.rows) return;
    tab.scroll = anchor;
    this.emit('changed');
  }

  /** Stop following every session (the sessions may outlive the screen). */
  dispose(): void {
    for (const tab of [...this.following.keys()]) this.unfollow(tab);
  }

  private unfollow(tab: Tab): void {
    this.following.get(tab)?.dispose();
    this.following.delete(tab);
  }

  private makeTab(kind: TabKind, title: string, session: ChatSessionView | null): Tab {
    return {
      kind,
      title,
      session,
      lines: new Scrollback(this.lineLimit),
      unread: 0,
      readMark: null,
      peerTyping: false,
      ended: null,
      scroll: FOLLOWING,
      draft: new LineEditor('', { multiline: true, kills: this.kills }),
      attention: false,
    };
  }
}
