/**
 * The main screen: builds the panes (layout.ts), feeds them from the client core and the
 * feature sources, and routes keys through the keymap table. It holds view state only
 * (tabs, focus, the request queue); sessions, requests and broadcasts live in the core.
 */
import type blessed from 'blessed';
import type { P2PClient } from '../client.ts';
import type { ProtocolError } from '../../net/errors.ts';
import { Actions } from './actions.ts';
import { parseCommand } from './commands.ts';
import { RequestQueue } from './request-queue.ts';
import { describeError } from './errors-text.ts';
import { Action, actionFor, tabIndexOf } from './keymap.ts';
import { FOCUS_ORDER, FocusPane } from './layout.ts';
import { InputHistory, LineEditor, type EditKey } from './line-editor.ts';
import type { ChatEntry, ChatSessionView, Delivery, Features, IncomingRequest, PeerIdentity } from './sources.ts';
import { isScrolled, LineKind, TabsModel, type Tab } from './tabs.ts';
import { DialogView } from './views/dialog.ts';
import { HelpOverlay } from './views/help-overlay.ts';
import { InputLine } from './views/input-line.ts';
import { MenuView } from './views/menu.ts';
import { MessagesPane } from './views/messages-pane.ts';
import { RequestModal } from './views/request-modal.ts';
import { StatusBar, tcpState, udpState } from './views/status-bar.ts';
import { TabBar } from './views/tab-bar.ts';
import { UsersPane } from './views/users-pane.ts';

export interface MainScreenOptions {
  client: P2PClient;
  features: Features;
  now?: () => number;
  /** Leave the app (after the user confirmed, if chats were open). */
  onQuit: () => void;
}

export class MainScreen {
  readonly tabs = new TabsModel();
  readonly editor = new LineEditor();
  readonly history = new InputHistory();
  private readonly users: UsersPane;
  private readonly tabBar: TabBar;
  private readonly messages: MessagesPane;
  private readonly input: InputLine;
  private readonly status: StatusBar;
  private readonly modal: RequestModal;
  private readonly help: HelpOverlay;
  private readonly actions: Actions;
  private readonly client: P2PClient;
  private readonly features: Features;
  private readonly now: () => number;
  private focus: FocusPane = FocusPane.INPUT;
  private readonly requests: RequestQueue;
  private dialog: { view: DialogView; onYes: () => void } | null = null;
  private picker: MenuView<string> | null = null;
  private statusNote = '';
  private typingSent = false;
  /** Lines submitted so far: a refused line is given back only if none came after it. */
  private submitted = 0;
  private renderQueued = false;
  private readonly cleanups: Array<() => void> = [];

  constructor(
    private readonly screen: blessed.Widgets.Screen,
    private readonly options: MainScreenOptions,
  ) {
    this.client = options.client;
    this.features = options.features;
    this.now = options.now ?? Date.now;
    this.users = new UsersPane(screen);
    this.tabBar = new TabBar(screen);
    this.messages = new MessagesPane(screen);
    this.input = new InputLine(screen);
    this.status = new StatusBar(screen);
    this.modal = new RequestModal(screen);
    this.help = new HelpOverlay(screen);
    this.requests = new RequestQueue(this.now);
    this.requests.on('changed', () => this.scheduleRender());
    this.actions = new Actions({
      client: this.client,
      features: this.features,
      tabs: this.tabs,
      now: this.now,
      showHelp: () => this.help.show(),
      requestQuit: () => this.requestQuit(),
      focusUsers: () => this.setFocus(FocusPane.USERS),
      pickCandidate: (ip, candidates) => this.pickCandidate(ip, candidates),
    });
    this.tabs.on('changed', () => this.scheduleRender());
    // One bell when a tab that was read gets news (not one per message).
    this.tabs.on('bell', () => this.screen.program.bell());
    this.wireClient();
    this.wireFeatures();
    this.actions.note(`Logged in as ${this.client.session?.user} (${this.client.session?.ip}). F1 or ? lists the keys.`, this.tabs.inbox);
    this.renderNow();
  }

  /** Ask before quitting when chats would end with it. */
  requestQuit(): void {
    const open = this.tabs.openSessions;
    if (open === 0) return this.options.onQuit();
    this.openDialog('Quit?', [`${open} direct chat${open === 1 ? ' is' : 's are'} open; quitting ends ${open === 1 ? 'it' : 'them'}.`], 'Quit p2p-client?', () =>
      this.options.onQuit(),
    );
  }

  dispose(): void {
    this.requests.stop();
    for (const cleanup of this.cleanups) cleanup();
    for (const tab of this.tabs.tabs) if (tab.session && !tab.ended) tab.session.close();
  }

  handleKey(ch: string | undefined, key: EditKey): void {
    this.routeKey(ch, key);
    this.scheduleRender();
  }

  /** Re-lay after a resize: pane contents depend on their height. */
  relayout(): void {
    this.renderNow();
  }

  private routeKey(ch: string | undefined, key: EditKey): void {
    const name = key.full ?? key.name ?? '';
    if (this.help.visible) return void this.help.handleKey(name);
    if (this.dialog) {
      const answer = DialogView.answer(ch, name);
      if (answer === null) return;
      const { view, onYes } = this.dialog;
      this.dialog = null;
      view.destroy();
      if (answer) onYes();
      return;
    }
    if (this.picker) {
      const result = this.picker.handleKey(ch, key);
      if (result === null) return;
      this.picker.destroy();
      this.picker = null;
      if (result !== 'back') void this.actions.connect({ user: result.picked });
      return;
    }
    if (this.requests.first) {
      const action = actionFor('request', name);
      if (action === Action.ACCEPT || action === Action.DECLINE) this.answerRequest(action === Action.ACCEPT);
      else if (actionFor('global', name) === Action.QUIT) this.requestQuit();
      return;
    }
    const global = actionFor('global', name);
    const typing = this.focus === FocusPane.INPUT && !this.editor.isEmpty;
    if (global && !(name === '?' && typing)) return this.runGlobal(global, name);
    if (this.focus === FocusPane.USERS) {
      const action = actionFor('users', name);
      if (action === Action.USER_UP) return this.users.move(-1);
      if (action === Action.USER_DOWN) return this.users.move(1);
      if (action === Action.USER_CONNECT) {
        const row = this.users.selectedUser;
        if (row) void this.actions.connect({ user: row.user });
        return;
      }
    } else if (this.focus === FocusPane.MESSAGES) {
      const action = actionFor('messages', name);
      if (action === Action.SCROLL_UP) return this.scrollMessages(1);
      if (action === Action.SCROLL_DOWN) return this.scrollMessages(-1);
    } else {
      const action = actionFor('input', name);
      if (action === Action.SEND) return void this.submitInput();
      if (action === Action.HISTORY_PREV || action === Action.HISTORY_NEXT) {
        const entry = action === Action.HISTORY_PREV ? this.history.previous(this.editor.value) : this.history.next();
        if (entry !== null) this.editor.set(entry);
        return;
      }
    }
    // Typing anywhere goes to the input line.
    if (ch && !key.ctrl && !key.meta && ch >= ' ' && name !== 'enter') this.setFocus(FocusPane.INPUT);
    if (this.focus === FocusPane.INPUT && this.editor.handle(ch, key)) this.updateTyping();
  }

  private runGlobal(action: Action, name: string): void {
    // A page keeps one row of the last one in view; scrolled, a row shows "newer below".
    const pageRows = Math.max(1, this.messages.rows - 2);
    switch (action) {
      case Action.HELP:
        return this.help.show();
      case Action.QUIT:
        return this.requestQuit();
      case Action.FOCUS_NEXT:
      case Action.FOCUS_PREV: {
        const step = action === Action.FOCUS_NEXT ? 1 : FOCUS_ORDER.length - 1;
        return this.setFocus(FOCUS_ORDER[(FOCUS_ORDER.indexOf(this.focus) + step) % FOCUS_ORDER.length]);
      }
      case Action.TAB_GOTO:
        this.tabs.select(tabIndexOf(name) ?? 0);
        return;
      case Action.TAB_NEXT:
        this.tabs.next();
        return;
      case Action.TAB_PREV:
        this.tabs.previous();
        return;
      case Action.COMPOSE_BROADCAST:
        this.editor.set('/broadcast ');
        return this.setFocus(FocusPane.INPUT);
      case Action.CLOSE_TAB:
        return this.actions.closeCurrent();
      case Action.PAGE_UP:
        // Leaving the bottom, the view loses a row to "newer below": one more row keeps the overlap at one.
        return this.scrollMessages(isScrolled(this.tabs.current.scroll) ? pageRows : pageRows + 1);
      case Action.PAGE_DOWN:
        return this.scrollMessages(-pageRows);
    }
  }

  /** Up (positive) or down by screen rows. */
  private scrollMessages(rows: number): void {
    const tab = this.tabs.current;
    this.tabs.setScroll(tab, this.messages.scrolled(tab, rows));
  }

  private async submitInput(): Promise<void> {
    const line = this.editor.value;
    const command = parseCommand(line);
    if (command.kind === 'empty') return;
    this.history.push(line);
    this.editor.clear();
    this.updateTyping();
    const seq = ++this.submitted;
    const kept = await this.actions.run(command, line);
    // Refused: give the text back so nothing typed is lost (unless the user typed or sent on meanwhile).
    if (kept && this.editor.value === '' && seq === this.submitted) this.editor.set(kept);
    this.scheduleRender();
  }

  private updateTyping(): void {
    const session = this.tabs.current.session;
    const typing = !this.editor.isEmpty && this.editor.codePoints[0] !== '/';
    // The session rate-limits what goes on the wire; it only needs every keystroke and the end.
    if (!session?.setTyping || (!typing && !this.typingSent) || this.tabs.current.ended) return;
    this.typingSent = typing;
    session.setTyping(typing);
  }

  private setFocus(pane: FocusPane): void {
    this.focus = pane;
  }

  private openDialog(title: string, lines: string[], question: string, onYes: () => void): void {
    this.dialog?.view.destroy();
    this.dialog = { view: new DialogView(this.screen, { title, lines, question, width: 64 }), onYes };
    this.scheduleRender();
  }

  private pickCandidate(ip: string, candidates: PeerIdentity[]): void {
    this.picker = new MenuView<string>(this.screen, {
      title: `Who at ${ip}?`,
      intro: [`Several users are online at ${ip}. Which one?`],
      choices: candidates.map((c) => ({ value: c.user, label: c.user })),
      hint: 'arrows and Enter   Esc: cancel',
    });
    this.scheduleRender();
  }

  // ---- requests (PROTOCOL.md 6.1: the target answers within the server's timeout) ----

  private answerRequest(accept: boolean): void {
    const request = this.requests.first as IncomingRequest;
    this.requests.remove(request.id);
    const peers = this.features.peers;
    if (!peers) return;
    peers.answer(request.id, accept).catch((err: unknown) => this.actions.note(`No chat with ${request.from.user} (${request.from.ip}): ${describeError(err)}`));
    if (!accept) this.actions.note(`Declined the chat request from ${request.from.user} (${request.from.ip}).`);
  }

  // ---- wiring ----

  /** Subscribe, and remember to unsubscribe on dispose (the client outlives this screen in tests). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- listener types are written at each call site
  private listen(source: object, event: string, fn: (...args: any[]) => void): void {
    const s = source as { on(e: string, f: typeof fn): unknown; off(e: string, f: typeof fn): unknown };
    s.on(event, fn);
    this.cleanups.push(() => s.off(event, fn));
  }

  private wireClient(): void {
    const c = this.client;
    this.listen(c, 'users', () => this.scheduleRender());
    this.listen(c, 'state', () => this.scheduleRender());
    this.listen(c, 'udp', () => this.scheduleRender());
    this.listen(c, 'online', () => {
      if (this.statusNote) this.actions.note('Back online: reconnected to the server and logged in again.', this.tabs.inbox);
      // Relayed chats ended with the server (PROTOCOL.md section 6.6): offer to start them again.
      for (const tab of this.tabs.tabs) {
        if (!tab.ended || !tab.session?.connection?.needsServer || tab.reconnectOffered) continue;
        tab.reconnectOffered = true;
        this.actions.note(`The server is back: /connect ${tab.session.peer.user} starts a new chat with ${tab.session.peer.user}.`, tab);
      }
      this.statusNote = '';
      this.scheduleRender();
    });
    this.listen(c, 'disconnected', ({ error, retryInMs }: { error: ProtocolError; retryInMs: number | null }) => {
      const why = describeError(error);
      if (retryInMs !== null) {
        if (!this.statusNote) this.actions.note(`Lost the server: ${why} Reconnecting; direct chats carry on.`, this.tabs.inbox);
        this.statusNote = `server lost, retry in ${Math.max(1, Math.round(retryInMs / 1000))} s`;
      } else {
        this.statusNote = 'disconnected from the server';
        this.actions.note(`Disconnected from the server: ${why} Direct chats carry on; /quit to leave.`, this.tabs.inbox);
      }
      this.scheduleRender();
    });
  }

  private wireFeatures(): void {
    const { peers, inbox } = this.features;
    if (inbox) {
      const add = (b: { from: string; text: string; at: number }) =>
        this.tabs.append(this.tabs.inbox, { kind: LineKind.BROADCAST, at: b.at, from: b.from, text: b.text });
      for (const b of inbox.received()) add(b);
      this.listen(inbox, 'broadcast', add);
    }
    if (peers) {
      for (const s of peers.sessions()) this.addSession(s, false);
      for (const r of peers.requests()) this.requests.add(r);
      this.listen(peers, 'request', (r: IncomingRequest) => this.requests.add(r));
      this.listen(peers, 'requestEnded', (id: string) => this.requests.remove(id));
      this.listen(peers, 'session', (s: ChatSessionView) => this.addSession(s, true));
      this.listen(peers, 'outcome', ({ peer, reason }: { peer: PeerIdentity; reason: string }) =>
        this.actions.note(`No chat with ${peer.user} (${peer.ip}): ${reason}`),
      );
    }
  }

  private addSession(session: ChatSessionView, focus: boolean): void {
    const tab = this.tabs.addSession(session);
    const line = (e: ChatEntry) =>
      this.tabs.append(tab, { kind: e.own ? LineKind.OWN : LineKind.PEER, at: e.at, from: e.from, text: e.text, id: e.id, delivery: e.delivery });
    const how = session.connection?.label ?? 'direct';
    this.actions.note(`Chat with ${session.peer.user} (${session.peer.ip}), ${how}, end-to-end encrypted. Verification code: ${session.verificationCode}; compare it with theirs out of band.`, tab);
    for (const e of session.history()) line(e);
    this.listen(session, 'message', line);
    this.listen(session, 'delivery', (id: string, state: Delivery) => {
      const entry = tab.lines.get(id);
      if (entry) entry.delivery = state;
      this.scheduleRender();
    });
    this.listen(session, 'typing', (on: boolean) => {
      tab.peerTyping = on;
      this.scheduleRender();
    });
    this.listen(session, 'closed', (reason: string) => {
      tab.ended = reason || 'closed';
      tab.peerTyping = false;
      this.actions.note(`The chat with ${session.peer.user} ended: ${tab.ended}. Ctrl-W closes the tab.`, tab);
    });
    if (!session.isOpen) tab.ended = 'closed';
    if (focus) {
      this.tabs.selectTab(tab);
      this.setFocus(FocusPane.INPUT);
    }
  }

  // ---- drawing ----

  private scheduleRender(): void {
    if (this.renderQueued) return;
    this.renderQueued = true;
    setImmediate(() => {
      this.renderQueued = false;
      this.renderNow();
    });
  }

  renderNow(): void {
    const tab = this.tabs.current;
    this.users.setFocused(this.focus === FocusPane.USERS);
    this.users.setRows(this.userRows());
    this.tabBar.update(this.tabs.tabs, this.tabs.index);
    this.messages.update(tab, this.focus === FocusPane.MESSAGES);
    this.input.update(this.editor, this.inputTarget(tab), this.focus === FocusPane.INPUT);
    this.status.update({
      user: this.client.session?.user ?? '-',
      server: `${this.client.options.host}:${this.client.options.port}`,
      tcp: tcpState(this.client.state),
      udp: udpState(this.client.state, this.client.udpState),
      fingerprint: this.client.fingerprint ?? this.client.session?.fingerprint ?? null,
      sessions: this.tabs.openSessions,
      note: this.statusNote,
    });
    const request = this.requests.first;
    if (request) this.modal.show(request, this.now(), this.requests.size - 1);
    else this.modal.hide();
    if (this.help.visible) this.help.box.setFront();
    this.screen.render();
  }

  private inputTarget(tab: Tab): string {
    if (!tab.session) return 'Broadcasts: /broadcast <text> sends to everyone';
    return tab.ended ? `Chat with ${tab.session.peer.user} ended` : `Message to ${tab.session.peer.user}`;
  }

  private userRows() {
    const self = this.client.session?.user.toLowerCase();
    const pending = new Set((this.features.peers?.pendingWith() ?? []).map((u) => u.toLowerCase()));
    return this.client.onlineUsers.map((u) => {
      const tab = this.tabs.tabForUser(u.user);
      return { user: u.user, ip: u.ip, self: u.user.toLowerCase() === self, hasTab: !!tab, pending: pending.has(u.user.toLowerCase()), unread: tab?.unread ?? 0 };
    });
  }
}
