/**
 * The main screen: builds the panes (layout.ts), feeds them from the client core and the
 * feature sources, and routes keys through the keymap table. It holds view state only
 * (tabs, focus); the input line's behaviour is composer.ts, incoming requests
 * request-desk.ts; sessions, requests and broadcasts live in the core.
 */
import { formatServer } from '../server-list.ts';
import type blessed from 'blessed';
import { sameUser, userKey } from '../../net/names.ts';
import { Subscriptions } from '../../util/emitter.ts';
import type { P2PClient } from '../client.ts';
import { Actions } from './actions.ts';
import { COMMAND_NAMES } from './commands.ts';
import { Composer } from './composer.ts';
import { knownUsers, type Candidates } from './completion.ts';
import { RequestDesk } from './request-desk.ts';
import { describeError, lostSessionNote } from './errors-text.ts';
import { Action, actionFor, tabIndexOf, type ScopeActions } from './keymap.ts';
import { FOCUS_ORDER, FocusPane, paneHeights, STATUS_HEIGHT } from './layout.ts';
import type { EditKey, LineEditor } from './line-editor.ts';
import type { BroadcastEntry, Features, PeerIdentity } from './sources.ts';
import type { TabHistory } from './tab-history.ts';
import { FOLLOWING, LineKind, MAX_TAB_LINES, TabsModel, type Tab } from './tabs.ts';
import { Reading, searchLabel } from './reading.ts';
import { AwayNotes } from './away-notes.ts';
import type { SecretForm } from './account-actions.ts';
import { DialogView } from './views/dialog.ts';
import { FormView } from './views/form.ts';
import { HelpOverlay } from './views/help-overlay.ts';
import { InputLine } from './views/input-line.ts';
import { MenuView } from './views/menu.ts';
import { MessagesPane } from './views/messages-pane.ts';
import { newsText, StatusBar, tcpState, udpState } from './views/status-bar.ts';
import { TabBar } from './views/tab-bar.ts';
import { UsersPane } from './views/users-pane.ts';

export interface MainScreenOptions {
  client: P2PClient;
  features: Features;
  /** The saved history (absent with --no-history): the screen fills its tabs from it and saves to it. */
  saved?: TabHistory;
  now?: () => number;
  /** Leave the app (after the user confirmed, if chats were open). */
  onQuit: () => void;
}

export class MainScreen {
  readonly tabs: TabsModel;
  private readonly composer: Composer;
  private readonly users: UsersPane;
  private readonly tabBar: TabBar;
  private readonly messages: MessagesPane;
  private readonly input: InputLine;
  private readonly status: StatusBar;
  private readonly help: HelpOverlay;
  private readonly actions: Actions;
  private readonly client: P2PClient;
  private readonly features: Features;
  private readonly now: () => number;
  private readonly saved: TabHistory | null;
  private focus: FocusPane = FocusPane.INPUT;
  private readonly requests: RequestDesk;
  private readonly awayNotes = new AwayNotes((user, text) => {
    const tab = this.tabs.tabForUser(user);
    if (tab) this.actions.note(text, tab);
  });
  private readonly reading: Reading;
  private dialog: { view: DialogView; onYes: () => void; onNo?: () => void } | null = null;
  /** A masked form over the screen (/passwd, /delete-account): every key goes to it. */
  private form: {
    view: FormView;
    check: (values: Record<string, string>) => string | null;
    resolve: (values: Record<string, string> | null) => void;
  } | null = null;
  private picker: MenuView<string> | null = null;
  private statusNote = '';
  private renderQueued = false;
  /** Rows of text the input line shows now (it grows with a message of several lines). */
  private inputRows = 1;
  /** The client and the feature sources outlive this screen in tests: undone on dispose. */
  private readonly subscriptions = new Subscriptions();

  constructor(
    private readonly screen: blessed.Widgets.Screen,
    private readonly options: MainScreenOptions,
  ) {
    this.client = options.client;
    this.features = options.features;
    this.now = options.now ?? Date.now;
    this.tabs = new TabsModel(MAX_TAB_LINES, this.now);
    this.saved = options.saved ?? null;
    this.users = new UsersPane(screen);
    this.tabBar = new TabBar(screen);
    this.messages = new MessagesPane(screen);
    this.input = new InputLine(screen);
    this.status = new StatusBar(screen);
    this.help = new HelpOverlay(screen);
    this.reading = new Reading({
      tabs: this.tabs,
      messages: this.messages,
      width: () => screen.width as number,
      saved: this.saved,
    });
    this.actions = new Actions({
      client: this.client,
      features: this.features,
      tabs: this.tabs,
      now: this.now,
      showHelp: () => this.help.show(),
      requestQuit: () => this.requestQuit(),
      focusUsers: () => {
        if (!this.reading.usersVisible) this.reading.toggleUsers();
        this.setFocus(FocusPane.USERS);
      },
      search: (query) => this.reading.search.open(this.tabs.current, query),
      pickCandidate: (ip, candidates) => this.pickCandidate(ip, candidates),
      askSecrets: (form, check) => this.askSecrets(form, check),
      passwordChanged: async (password) => await this.saved?.changePassword(password),
      confirm: (title, lines, question) => this.confirm(title, lines, question),
      answerRequest: (user, accept) => this.requests.answer(user, accept),
    });
    this.composer = new Composer({
      tabs: this.tabs,
      run: (command, line) => {
        // What the user just sent (or the answer to a command) is at the bottom: show it.
        this.tabs.setScroll(this.tabs.current, FOLLOWING);
        return this.actions.run(command, line);
      },
      note: (text, tab) => this.actions.note(text, tab),
      confirm: (title, lines, question) => this.confirm(title, lines, question),
      candidates: () => this.candidates(),
      remember: (line) => this.saved?.saveInput(line),
      changed: () => this.scheduleRender(),
    });
    this.tabs.on('changed', () => {
      // Left a tab with a draft: its peer stops seeing us type; the draft stays with the tab.
      this.composer.stopTypingUnless(this.tabs.current);
      this.scheduleRender();
    });
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
      this.actions.note(`The chat with ${peer.user} ended: ${tab.ended}. /close (or F8) closes the tab.`, tab),
    );
    this.requests = new RequestDesk(screen, {
      peers: this.features.peers,
      now: this.now,
      note: (text) => this.actions.note(text),
      changed: () => this.scheduleRender(),
    });
    this.saved?.attach({
      tabs: this.tabs,
      input: this.composer.history,
      now: this.now,
      note: (text) => this.actions.note(text, this.tabs.inbox),
    });
    this.wireClient();
    this.wireFeatures();
    this.actions.files.follow(this.subscriptions, () => this.scheduleRender());
    this.actions.note(
      `Logged in as ${this.client.session?.user} (${this.client.session?.ip}). F1 or /help lists the keys.`,
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

  /** A line in plain words in the Broadcasts tab. */
  note(text: string): void {
    this.actions.note(text, this.tabs.inbox);
  }

  dispose(): void {
    this.requests.dispose();
    this.actions.files.dispose();
    this.subscriptions.dispose();
    for (const tab of this.tabs.tabs) if (tab.session && !tab.ended) tab.session.close();
    this.tabs.dispose();
  }

  handleKey(ch: string | undefined, key: EditKey): void {
    this.routeKey(ch, key);
    this.scheduleRender();
  }

  /** Alt-Enter, read from the terminal before blessed (which drops it): a new line in the draft. */
  newline(): void {
    if (this.overlayOpen) return;
    this.setFocus(FocusPane.INPUT);
    this.composer.newline();
    this.scheduleRender();
  }

  /** A bracketed paste: into the current tab's draft as one piece, never sent by itself. */
  paste(text: string, truncated: boolean): void {
    if (this.form) {
      // A form field takes it as one line (a pasted password).
      this.form.view.paste(text);
    } else if (!this.overlayOpen) {
      this.setFocus(FocusPane.INPUT);
      this.composer.paste(text, truncated);
    }
    this.scheduleRender();
  }

  /** The draft of the current tab (tests read it). */
  get editor(): LineEditor {
    return this.composer.editor;
  }

  /** Re-lay after a resize: pane contents depend on their height. */
  relayout(): void {
    this.renderNow();
  }

  private get overlayOpen(): boolean {
    return this.help.visible || !!this.dialog || !!this.form || !!this.picker;
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
    if (this.reading.search.handleKey(ch, key)) return;
    const global = actionFor('global', name);
    if (global) return this.runGlobal(global, name);
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
      if (
        action === Action.SCROLL_UP ||
        action === Action.SCROLL_DOWN ||
        action === Action.SCROLL_TOP ||
        action === Action.SCROLL_BOTTOM
      )
        return this.reading.scroll(action);
    } else if (this.editor.isEmpty && (name === 'home' || name === 'end')) {
      // Home and End move the cursor in a line being typed; in an empty one they scroll.
      return this.reading.scroll(name === 'home' ? Action.SCROLL_TOP : Action.SCROLL_BOTTOM);
    }
    // Typing anywhere goes to the input line (so does Tab, to complete there).
    const printable = !!ch && !key.ctrl && !key.meta && ch >= ' ' && name !== 'enter';
    if (printable || name === 'tab') this.setFocus(FocusPane.INPUT);
    if (this.focus === FocusPane.INPUT) this.composer.handleKey(ch, key);
  }

  private runGlobal(action: ScopeActions['global'], name: string): void {
    switch (action) {
      case Action.HELP:
        return this.help.show();
      case Action.QUIT:
        return this.requestQuit();
      case Action.ACCEPT:
      case Action.DECLINE:
        return this.requests.answer(null, action === Action.ACCEPT);
      case Action.FOCUS_NEXT:
      case Action.FOCUS_PREV: {
        const order = this.reading.usersVisible ? FOCUS_ORDER : FOCUS_ORDER.filter((p) => p !== FocusPane.USERS);
        const step = action === Action.FOCUS_NEXT ? 1 : order.length - 1;
        // Taken modulo the length of the list, the index is always in it.
        return this.setFocus(order[(order.indexOf(this.focus) + step) % order.length] ?? FocusPane.INPUT);
      }
      case Action.TAB_GOTO:
        this.tabs.select(tabIndexOf(name) ?? 0);
        return;
      case Action.TAB_ACTIVITY: {
        const tab = this.tabs.nextWithActivity();
        if (tab) this.tabs.selectTab(tab);
        return;
      }
      case Action.TAB_NEXT:
        this.tabs.next();
        return;
      case Action.TAB_PREV:
        this.tabs.previous();
        return;
      case Action.CLOSE_TAB:
        return void this.actions.closeCurrentAsking();
      case Action.PAGE_UP:
      case Action.PAGE_DOWN:
      case Action.SCROLL_TOP:
      case Action.SCROLL_BOTTOM:
        return this.reading.scroll(action);
      case Action.TOGGLE_USERS:
        this.reading.toggleUsers();
        if (!this.reading.usersVisible && this.focus === FocusPane.USERS) this.setFocus(FocusPane.INPUT);
        return this.relayout();
      case Action.SEARCH:
        return this.reading.search.open(this.tabs.current);
    }
  }

  private confirm(title: string, lines: string[], question: string): Promise<boolean> {
    return new Promise((resolve) =>
      this.openDialog(
        title,
        lines,
        question,
        () => resolve(true),
        () => resolve(false),
      ),
    );
  }

  /** What Tab completes against: commands, then users online (not us), then others we know of. */
  private candidates(): Candidates {
    return {
      commands: COMMAND_NAMES,
      users: knownUsers(this.client.session?.user, [
        this.client.onlineUsers.map((u) => u.user),
        this.tabs.tabs.flatMap((t) => (t.session ? [t.session.peer.user] : [])),
        this.features.inbox.received().map((b) => b.from),
      ]),
    };
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

  // ---- wiring ----

  private wireClient(): void {
    const c = this.client;
    const listen = this.subscriptions.listen.bind(this.subscriptions);
    listen(c, 'users', () => this.scheduleRender());
    listen(c, 'state', () => this.scheduleRender());
    listen(c, 'presence', ({ joined, left }) => {
      for (const user of left) this.awayNotes.gone(user);
      for (const entry of joined) this.awayNotes.seen(entry);
    });
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
        this.statusNote = lostSessionNote(error);
        const text = `Disconnected from the server: ${why} Direct chats carry on; /quit to leave.`;
        // Where the user is looking, and in the Broadcasts tab, where server news is kept.
        this.actions.note(text, this.tabs.inbox);
        if (this.tabs.current !== this.tabs.inbox) this.actions.note(text, this.tabs.current);
      }
      this.scheduleRender();
    });
  }

  private wireFeatures(): void {
    const { peers, inbox } = this.features;
    const listen = this.subscriptions.listen.bind(this.subscriptions);
    // Our own broadcast comes back like everyone's: it is ours, not news (no unread mark, no bell).
    const add = (b: BroadcastEntry) => {
      if (this.saved?.hasBroadcast(b.id)) return; // saved in an earlier run, delivered again at login
      const self = this.client.session?.user;
      const own = self !== undefined && sameUser(b.from, self);
      this.tabs.append(this.tabs.inbox, {
        kind: own ? LineKind.OWN : LineKind.BROADCAST,
        at: b.at,
        from: b.from,
        text: b.text,
        id: b.id,
      });
    };
    for (const b of inbox.received()) add(b);
    listen(inbox, 'broadcast', add);
    for (const s of peers.sessions()) this.tabs.addSession(s);
    // A new chat opens in the background, marked and announced: the tab in use never changes by itself.
    listen(peers, 'session', (s) => this.tabs.addSession(s));
    listen(peers, 'outcome', ({ peer, reason }) =>
      this.actions.note(`No chat with ${peer.user} (${peer.ip}): ${reason}`),
    );
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
    const panes = { users: this.users.box, tabBar: this.tabBar.box, messages: this.messages.box };
    const search = this.reading.prepare(tab, panes);
    this.tabBar.update(this.tabs.tabs, this.tabs.index);
    const editor = search ? search.editor : this.editor;
    this.layInput(this.input.rowsFor(editor));
    this.messages.update(tab, this.focus === FocusPane.MESSAGES, search?.query ?? '', this.actions.files.titleFor(tab));
    if (search) this.input.update(search.editor, searchLabel(search), true, this.inputRows);
    else this.input.update(this.editor, this.inputTarget(tab), this.focus === FocusPane.INPUT, this.inputRows);
    this.status.update({
      user: this.client.session?.user ?? '-',
      server: formatServer(this.client.server),
      tcp: tcpState(this.client.state),
      udp: udpState(this.client.state, this.client.udpState),
      fingerprint: this.client.fingerprint ?? this.client.session?.fingerprint ?? null,
      sessions: this.tabs.openSessions,
      away: this.ownEntry()?.away ?? null,
      usersFolded: !this.reading.usersVisible,
      note: this.statusNote,
      news: newsText(this.tabs.tabs),
      files: this.actions.files.status(),
    });
    this.requests.render(paneHeights(this.inputRows).input + STATUS_HEIGHT);
    if (this.help.visible) this.help.box.setFront();
    this.screen.render();
  }

  /** The input line grows with a message of several rows; the panes above give it the room. */
  private layInput(rows: number): void {
    if (rows === this.inputRows) return;
    this.inputRows = rows;
    const heights = paneHeights(rows);
    this.input.box.height = heights.input;
    this.users.box.height = heights.users;
    this.messages.box.height = heights.messages;
  }

  private inputTarget(tab: Tab): string {
    if (!tab.session) return 'Broadcasts: /broadcast <text> sends to everyone';
    return tab.ended ? `Chat with ${tab.session.peer.user} ended` : `Message to ${tab.session.peer.user}`;
  }

  /** Our own row in the server's list: it says whether the server has us away. */
  private ownEntry() {
    const self = this.client.session?.user;
    return self === undefined ? undefined : this.client.onlineUsers.find((u) => sameUser(u.user, self));
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
        away: u.away ?? null,
      };
    });
  }
}
