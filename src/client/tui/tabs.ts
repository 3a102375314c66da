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
import { clockTime } from './text.ts';

/** Lines kept per tab; older ones are dropped (the bench fills a tab with 10,000). */
export const MAX_TAB_LINES = 10_000;

export const LineKind = {
  OWN: 'own',
  PEER: 'peer',
  SYSTEM: 'system',
  BROADCAST: 'broadcast',
  /** A divider the tab draws itself: a day ("Sat 5 Dec 2026") or where a new chat starts below saved history. */
  MARKER: 'marker',
} as const;
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

  /**
   * Put older lines in front (saved history read back), replacing the first `drop` lines, as
   * far as the limit allows: the newest of `older` are kept. Returns how many went in.
   */
  prepend(older: readonly TabLine[], drop = 0): number {
    // Below the limit the ring has never wrapped (head is 0), so the array is in order.
    if (this.lines.length >= this.limit) return 0;
    const removed = Math.min(drop, this.lines.length);
    const room = this.limit - (this.lines.length - removed);
    const taken = older.slice(Math.max(0, older.length - room));
    this.lines.splice(0, removed, ...taken);
    return taken.length;
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
  /** Saved lines older than the oldest shown, still in the history store (tab-history.ts pages them in). */
  savedBefore: number;
}

export interface TabsEvents {
  changed: [];
  /** A tab that was read got its first unread line. */
  bell: [];
  /** A chat tab was opened for a session (`reused`: the person's earlier tab, now following the new session). */
  opened: [tab: Tab, session: ChatSessionView, reused: boolean];
  /** A line was added as it happened (not one read back from saved history). */
  line: [tab: Tab, line: TabLine];
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

  constructor(
    private readonly lineLimit = MAX_TAB_LINES,
    private readonly now: () => number = Date.now,
  ) {
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

  /** The chat tab of this person whose chat ended, if one is still there. */
  endedTabFor(user: string): Tab | undefined {
    return this.tabs.find((t) => t.session && t.ended && sameUser(t.session.peer.user, user));
  }

  /**
   * Open a tab for a session and follow it: its history and new messages, delivery states,
   * typing and its end. One tab per person: a new chat with someone whose chat ended goes on
   * in their tab, below a "new since" marker.
   */
  addSession(session: ChatSessionView): Tab {
    const title = session.connection ? `${session.peer.user} · ${session.connection.short}` : session.peer.user;
    const earlier = this.endedTabFor(session.peer.user);
    const tab = earlier ?? this.makeTab(TabKind.CHAT, title, session);
    // It opens (or goes on) in the background, marked: the tab the user is in never changes by itself.
    if (tab !== this.current) tab.attention = true;
    if (earlier) {
      this.unfollow(earlier);
      Object.assign(earlier, { title, session, ended: null, peerTyping: false, reconnectOffered: false });
      this.append(earlier, newSince(this.now()));
    } else {
      this.tabs.push(tab);
    }
    this.emit('changed');
    this.emit('opened', tab, session, earlier !== undefined);
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
    const last = tab.lines.length > 0 ? tab.lines.at(tab.lines.length - 1) : undefined;
    if (last && line.kind !== LineKind.MARKER && dayOf(last.at) !== dayOf(line.at))
      this.push(tab, daySeparator(line.at));
    this.push(tab, line);
    this.emit('line', tab, line);
    if (
      tab !== this.current &&
      line.kind !== LineKind.OWN &&
      line.kind !== LineKind.SYSTEM &&
      line.kind !== LineKind.MARKER
    ) {
      tab.unread += 1;
      if (tab.unread === 1) this.emit('bell');
    }
    this.emit('changed');
  }

  /**
   * Saved lines read back, put above what the tab shows: day separators between days, and a
   * "new since" marker below them when they are the tab's first saved lines (`newSince`).
   * `before` is how many older ones stay in the store.
   */
  addSaved(tab: Tab, saved: readonly TabLine[], before: number, newSinceAt?: number): void {
    if (saved.length === 0) return;
    const block = withDays(saved);
    const first = tab.lines.length > 0 ? tab.lines.at(0) : undefined;
    const lastSaved = saved[saved.length - 1] as TabLine; // saved is not empty
    let drop = 0;
    if (newSinceAt !== undefined) {
      block.push(newSince(newSinceAt));
      if (first && first.kind !== LineKind.MARKER && dayOf(first.at) !== dayOf(lastSaved.at))
        block.push(daySeparator(first.at));
    } else if (first?.kind === LineKind.MARKER && first.text === dayLabel(lastSaved.at)) {
      drop = 1; // the page ends on the day the tab starts with: one separator is enough
    }
    const added = tab.lines.prepend(block, drop);
    tab.savedBefore = added === block.length ? before : 0;
    this.emit('changed');
  }

  private push(tab: Tab, line: TabLine): void {
    tab.lines.push(line);
    // Keep the view still while the user reads older lines.
    if (isScrolled(tab.scroll)) tab.scroll = { lines: tab.scroll.lines + 1, rows: tab.scroll.rows };
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
      savedBefore: 0,
    };
  }
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** The local day of a time, as the separators write it: "Sat 5 Dec 2026". */
export function dayLabel(ms: number): string {
  const d = new Date(ms);
  return `${WEEKDAYS[d.getDay()] ?? ''} ${d.getDate()} ${MONTHS[d.getMonth()] ?? ''} ${d.getFullYear()}`;
}

function dayOf(ms: number): string {
  const d = new Date(ms);
  return `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}`;
}

function daySeparator(at: number): TabLine {
  return { kind: LineKind.MARKER, at, from: '', text: dayLabel(at) };
}

function newSince(at: number): TabLine {
  return { kind: LineKind.MARKER, at, from: '', text: `new since ${clockTime(at)}` };
}

/** Lines with a day separator before the first and wherever the day changes. */
function withDays(lines: readonly TabLine[]): TabLine[] {
  const out: TabLine[] = [];
  let day = '';
  for (const line of lines) {
    if (dayOf(line.at) !== day) out.push(daySeparator(line.at));
    day = dayOf(line.at);
    out.push(line);
  }
  return out;
}
