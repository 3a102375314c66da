/**
 * The main screen: builds the panes (layout.ts), feeds them from the client core and the
 * feature sources, and routes keys through the keymap table. It holds view state only
 * (tabs, focus, the request queue); sessions, requests and broadcasts live in the core.
 */
import type blessed from 'blessed';
import { sameUser, userKey } from '../../net/names.ts';
import { Subscriptions } from '../../util/emitter.ts';
import type { P2PClient } from '../client.ts';
import { Actions } from './actions.ts';
import { parseCommand } from './commands.ts';
import { RequestQueue } from './request-queue.ts';
import { describeError } from './errors-text.ts';
import { Action, actionFor, tabIndexOf } from './keymap.ts';
import { FOCUS_ORDER, FocusPane } from './layout.ts';
import { InputHistory, LineEditor, type EditKey } from './line-editor.ts';
import type { BroadcastEntry, ChatSessionView, Features, IncomingRequest, PeerIdentity } from './sources.ts';
import { isScrolled, LineKind, TabsModel, type Tab } from './tabs.ts';
import type { SecretForm } from './account-actions.ts';
import { DialogView } from './views/dialog.ts';
import { FormView } from './views/form.ts';
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
  private dialog: { view: DialogView; onYes: () => void; onNo?: () => void } | null = null;
  /** A masked form over the screen (/passwd, /delete-account): every key goes to it. */
  private form: {
    view: FormView;
    check: (values: Record<string, string>) => string | null;
    resolve: (values: Record<string, string> | null) => void;
  } | null = null;
  private picker: MenuView<string> | null = null;
  private statusNote = '';
  private typingSent = false;
  /** Lines submitted so far: a refused line is given back only if none came after it. */
  private submitted = 0;
  private renderQueued = false;
  /** The client and the feature sources outlive this screen in tests: undone on dispose. */
  private readonly subscriptions = new Subscriptions();

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
      askSecrets: (form, check) => this.askSecrets(form, check),
      confirm: (title, lines, question) =>
        new Promise((resolve) =>
          this.openDialog(
            title,
            lines,
            question,
            () => resolve(true),
            () => resolve(false),
          ),
        ),
    });
    this.tabs.on('changed', () => this.scheduleRender());
    // One bell when a tab that was read gets news (not one per message).
    this.tabs.on('bell', () => this.screen.program.bell());
    this.tabs.on('opened', (tab, { peer, verificationCode, connection }) => {
      const how = connection?.label ?? 'direct';
      this.actions.note(
        `Chat with ${peer.user} (${peer.ip}), ${how}, end-to-end encrypted. Verification code: ${verificationCode}; compare it with theirs out of band.`,
        tab,
      );
    });
    this.tabs.on('ended', (tab, { peer }) =>
      this.actions.note(`The chat with ${peer.user} ended: ${tab.ended}. Ctrl-W closes the tab.`, tab),
    );
    this.wireClient();
    this.wireFeatures();
    this.actions.files.follow(this.subscriptions, () => this.scheduleRender());
    this.actions.note(
      `Logged in as ${this.client.session?.user} (${this.client.session?.ip}). F1 or ? lists the keys.`,
      this.tabs.inbox,
    );
    this.renderNow();
  }

  /** Ask before quitting when chats would end with it. */
  requestQuit(): void {
    const open = this.tabs.openSessions;
    if (open === 0) return this.options.onQuit();
    this.openDialog(
      'Quit?',
      [`${open} direct chat${open === 1 ? ' is' : 's are'} open; quitting ends ${open === 1 ? 'it' : 'them'}.`],
      'Quit p2p-client?',
      () => this.options.onQuit(),
    );
  }

  dispose(): void {
    this.requests.stop();
    this.actions.files.dispose();
    this.subscriptions.dispose();
    for (const tab of this.tabs.tabs) if (tab.session && !tab.ended) tab.session.close();
    this.tabs.dispose();
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
      const { view, onYes, onNo } = this.dialog;
      this.dialog = null;
      view.destroy();
      if (answer) onYes();
      else onNo?.();
      return;
    }
    if (this.form) return this.formKey(ch, key);
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
        // Taken modulo the length of a constant list, the index is always in it.
        return this.setFocus(
          FOCUS_ORDER[(FOCUS_ORDER.indexOf(this.focus) + step) % FOCUS_ORDER.length] ?? FocusPane.INPUT,
        );
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
      // Bound in the panes', dialogs' and forms' scopes, never as global keys.
      case Action.USER_UP:
      case Action.USER_DOWN:
      case Action.USER_CONNECT:
      case Action.SEND:
      case Action.HISTORY_PREV:
      case Action.HISTORY_NEXT:
      case Action.SCROLL_UP:
      case Action.SCROLL_DOWN:
      case Action.ACCEPT:
      case Action.DECLINE:
      case Action.FORM_NEXT:
      case Action.FORM_BACK:
        return;
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
    if (!session || (!typing && !this.typingSent) || this.tabs.current.ended) return;
    this.typingSent = typing;
    session.setTyping(typing);
  }

  private setFocus(pane: FocusPane): void {
    this.focus = pane;
  }

  private openDialog(title: string, lines: string[], question: string, onYes: () => void, onNo?: () => void): void {
    this.dialog?.view.destroy();
    this.dialog?.onNo?.();
    this.dialog = { view: new DialogView(this.screen, { title, lines, question, width: 64 }), onYes, onNo };
    this.scheduleRender();
  }

  private askSecrets(
    form: SecretForm,
    check: (values: Record<string, string>) => string | null,
  ): Promise<Record<string, string> | null> {
    return new Promise((resolve) => {
      this.form?.view.destroy();
      this.form?.resolve(null);
      this.form = { view: new FormView(this.screen, form), check, resolve };
      this.form.view.box.setFront();
      this.scheduleRender();
    });
  }

  private formKey(ch: string | undefined, key: EditKey): void {
    const form = this.form as NonNullable<MainScreen['form']>;
    const result = form.view.handleKey(ch, key);
    if (result === null) return;
    const values = form.view.values();
    if (result === 'submit') {
      const problem = form.check(values);
      if (problem) return form.view.setError(problem);
    }
    this.form = null;
    form.view.destroy();
    form.resolve(result === 'submit' ? values : null);
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
    this.features.peers
      .answer(request.id, accept)
      .catch((err: unknown) =>
        this.actions.note(`No chat with ${request.from.user} (${request.from.ip}): ${describeError(err)}`),
      );
    if (!accept) this.actions.note(`Declined the chat request from ${request.from.user} (${request.from.ip}).`);
  }

  // ---- wiring ----

  private wireClient(): void {
    const c = this.client;
    const listen = this.subscriptions.listen.bind(this.subscriptions);
    listen(c, 'users', () => this.scheduleRender());
    listen(c, 'state', () => this.scheduleRender());
    listen(c, 'udp', () => this.scheduleRender());
    listen(c, 'online', () => {
      if (this.statusNote)
        this.actions.note('Back online: reconnected to the server and logged in again.', this.tabs.inbox);
      // Relayed chats ended with the server (PROTOCOL.md section 6.6): offer to start them again.
      for (const tab of this.tabs.tabs) {
        if (!tab.ended || !tab.session?.connection?.needsServer || tab.reconnectOffered) continue;
        tab.reconnectOffered = true;
        this.actions.note(
          `The server is back: /connect ${tab.session.peer.user} starts a new chat with ${tab.session.peer.user}.`,
          tab,
        );
      }
      this.statusNote = '';
      this.scheduleRender();
    });
    listen(c, 'disconnected', ({ error, retryInMs }) => {
      const why = describeError(error);
      if (retryInMs !== null) {
        if (!this.statusNote)
          this.actions.note(`Lost the server: ${why} Reconnecting; direct chats carry on.`, this.tabs.inbox);
        this.statusNote = `server lost, retry in ${Math.max(1, Math.round(retryInMs / 1000))} s`;
      } else {
        this.statusNote = 'disconnected from the server';
        this.actions.note(
          `Disconnected from the server: ${why} Direct chats carry on; /quit to leave.`,
          this.tabs.inbox,
        );
      }
      this.scheduleRender();
    });
  }

  private wireFeatures(): void {
    const { peers, inbox } = this.features;
    const listen = this.subscriptions.listen.bind(this.subscriptions);
    const add = (b: BroadcastEntry) =>
      this.tabs.append(this.tabs.inbox, { kind: LineKind.BROADCAST, at: b.at, from: b.from, text: b.text });
    for (const b of inbox.received()) add(b);
    listen(inbox, 'broadcast', add);
    for (const s of peers.sessions()) this.addSession(s, false);
    for (const r of peers.requests()) this.requests.add(r);
    listen(peers, 'request', (r) => this.requests.add(r));
    listen(peers, 'requestEnded', (id) => this.requests.remove(id));
    listen(peers, 'session', (s) => this.addSession(s, true));
    listen(peers, 'outcome', ({ peer, reason }) =>
      this.actions.note(`No chat with ${peer.user} (${peer.ip}): ${reason}`),
    );
  }

  /** The tab follows the session from here on (TabsModel); the screen only decides the focus. */
  private addSession(session: ChatSessionView, focus: boolean): void {
    const tab = this.tabs.addSession(session);
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
    this.messages.update(tab, this.focus === FocusPane.MESSAGES, this.actions.files.titleFor(tab));
    this.input.update(this.editor, this.inputTarget(tab), this.focus === FocusPane.INPUT);
    this.status.update({
      user: this.client.session?.user ?? '-',
      server: `${this.client.options.host}:${this.client.options.port}`,
      tcp: tcpState(this.client.state),
      udp: udpState(this.client.state, this.client.udpState),
      fingerprint: this.client.fingerprint ?? this.client.session?.fingerprint ?? null,
      sessions: this.tabs.openSessions,
      note: this.statusNote,
      files: this.actions.files.status(),
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
    const self = this.client.session?.user;
    const pending = new Set(this.features.peers.pendingWith().map(userKey));
    return this.client.onlineUsers.map((u) => {
      const tab = this.tabs.tabForUser(u.user);
      return {
        user: u.user,
        ip: u.ip,
        self: self !== undefined && sameUser(u.user, self),
        hasTab: !!tab,
        pending: pending.has(userKey(u.user)),
        unread: tab?.unread ?? 0,
      };
    });
  }
}
