/**
 * What the input line's commands do, in terms of the client core and the feature sources.
 * The results are lines in a tab (the current one, unless said otherwise) in plain words.
 * Limits are checked before anything is sent, by the client core (src/net/text-limits.ts):
 * an over-long message is refused, never cut, and the refusal is worded here.
 */
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import { sameUser } from '../../net/names.ts';
import { TextTooLargeError } from '../../net/text-limits.ts';
import type { P2PClient } from '../client.ts';
import { changePassword, deleteAccount, type AccountHost } from './account-actions.ts';
import type { Command } from './commands.ts';
import { describeError } from './errors-text.ts';
import { FileActions } from './files/actions.ts';
import type { ConnectOutcome, Features, PeerIdentity } from './sources.ts';
import { LineKind, type Tab, type TabsModel } from './tabs.ts';
import { formatDuration } from './text.ts';

export interface ActionHost extends Pick<AccountHost, 'askSecrets' | 'confirm' | 'passwordChanged'> {
  readonly client: P2PClient;
  readonly features: Features;
  readonly tabs: TabsModel;
  now(): number;
  showHelp(): void;
  requestQuit(): void;
  focusUsers(): void;
  /** Open a search in the current tab with `query` typed in. */
  search(query: string): void;
  /** An IP shared by several users: let the user pick one. */
  pickCandidate(ip: string, candidates: PeerIdentity[]): void;
  /** Answer the request shown (user null) or the one from `user`. */
  answerRequest(user: string | null, accept: boolean): void;
}

/** What the input line keeps after Enter: '' (sent or handled) or the text to leave in place. */
export type Kept = string;

export class Actions {
  /** /send, /get, /decline-file, /transfers, /cancel and their notices. */
  readonly files: FileActions;

  constructor(private readonly host: ActionHost) {
    this.files = new FileActions({
      files: host.features.files,
      tabs: host.tabs,
      note: (text, tab) => this.note(text, tab),
    });
  }

  note(text: string, tab: Tab = this.host.tabs.current): void {
    this.host.tabs.append(tab, { kind: LineKind.SYSTEM, at: this.host.now(), from: '', text });
  }

  /** Run one parsed input line. Returns the text to keep in the input (when refused). */
  async run(command: Command, line: string): Promise<Kept> {
    switch (command.kind) {
      case 'empty':
        return '';
      case 'error':
        this.note(command.message);
        return line;
      case 'message':
        return this.sendToCurrent(command.text, line);
      case 'broadcast':
        return this.broadcast(command.text, line);
      case 'connect':
        await this.connect(command.target);
        return '';
      case 'close':
        this.closeCurrent();
        return '';
      case 'answer':
        this.host.answerRequest(command.user, command.accept);
        return '';
      case 'peers':
        this.host.focusUsers();
        await this.host.client.refreshUsers().catch((err: unknown) => this.note(describeError(err)));
        return '';
      case 'passwd':
        await changePassword(this.accountHost());
        return '';
      case 'delete-account':
        await deleteAccount(this.accountHost());
        return '';
      case 'info':
        this.info();
        return '';
      case 'search':
        this.host.search(command.text);
        return '';
      case 'away':
      case 'back':
        return this.setAway(command.kind === 'away' ? command.reason : null, line);
      case 'help':
        this.host.showHelp();
        return '';
      case 'quit':
        this.host.requestQuit();
        return '';
      case 'file':
        return this.files.run(command.file, line);
    }
  }

  /** /away [reason] and /back (PROTOCOL.md section 4.7): everyone's user list shows it. */
  private async setAway(reason: string | null, line: string): Promise<Kept> {
    try {
      await this.host.client.setAway(reason);
    } catch (err) {
      this.note(`${reason === null ? 'Not marked back' : 'Not marked away'}: ${describeError(err)}`);
      return line;
    }
    if (reason === null) this.note('You are back: the others see you as available again.');
    else
      this.note(
        `You are away${reason ? ` (${reason})` : ''}: the others see it in their user list. /back when you return.`,
      );
    return '';
  }

  private accountHost(): AccountHost {
    const { client, askSecrets, confirm, passwordChanged } = this.host;
    return { client, askSecrets, confirm, passwordChanged, note: (text) => this.note(text) };
  }

  /** /info: how the chat in the current tab is carried (PROTOCOL.md section 6.6). */
  info(): void {
    const tab = this.host.tabs.current;
    const session = tab.session;
    if (!session) return this.note('/info tells how a chat is connected: use it in a chat tab.');
    const how = session.connection?.label ?? 'direct';
    const state = tab.ended ? `ended: ${tab.ended}` : 'open';
    const entry = this.host.client.onlineUsers.find((u) => sameUser(u.user, session.peer.user));
    const away =
      entry?.away === undefined ? '' : ` ${session.peer.user} is away${entry.away ? `: ${entry.away}` : ''}.`;
    this.note(
      `${session.peer.user} at ${session.peer.ip}: ${how}, end-to-end encrypted (TLS 1.3 PSK); verification code ${session.verificationCode}; ${state}.${away}`,
      tab,
    );
  }

  async connect(target: { user: string } | { ip: string }): Promise<void> {
    const self = this.host.client.session?.user;
    if ('user' in target) {
      if (self !== undefined && sameUser(target.user, self)) return this.note('That is you: pick another user.');
      const open = this.host.tabs.tabForUser(target.user);
      if (open) {
        this.host.tabs.selectTab(open);
        return;
      }
    }
    let outcome: ConnectOutcome;
    try {
      outcome = await this.host.features.peers.connect(target);
    } catch (err) {
      // By IP the server's "offline" means nobody is online there.
      if ('ip' in target && err instanceof ProtocolError && err.code === ErrorCode.PEER_OFFLINE)
        return this.note(`Nobody is online at ${target.ip}.`);
      return this.note(describeError(err));
    }
    if (outcome.kind === 'ambiguous') {
      this.host.pickCandidate(outcome.ip, outcome.candidates);
      return;
    }
    const seconds = Math.max(1, Math.round((outcome.expiresAt - this.host.now()) / 1000));
    this.note(`Asked ${outcome.peer.user} (${outcome.peer.ip}) for a chat; waiting up to ${seconds} s for an answer.`);
  }

  /** F8: a key, unlike /close, can be hit by mistake, so it asks first. */
  async closeCurrentAsking(): Promise<void> {
    const tab = this.host.tabs.current;
    if (!tab.session) return this.closeCurrent();
    const user = tab.session.peer.user;
    const state = tab.ended ? `The chat with ${user} has ended.` : `The chat with ${user} is open; closing ends it.`;
    if (!(await this.host.confirm('Close this tab?', [state], `Close the tab of ${user}?`))) return;
    // The tab may have moved (or gone) while the question was open.
    if (this.host.tabs.selectTab(tab) || this.host.tabs.current === tab) this.closeCurrent();
  }

  closeCurrent(): void {
    const tab = this.host.tabs.current;
    if (!tab.session) return this.note('The Broadcasts tab is always there; it cannot be closed.');
    if (!tab.ended) tab.session.close();
    this.host.tabs.remove(tab);
  }

  private async sendToCurrent(text: string, line: string): Promise<Kept> {
    const tab = this.host.tabs.current;
    if (!tab.session) {
      this.note(
        'This is the Broadcasts tab. To send to everyone use /broadcast <text> (or /b <text>); to chat, /connect <user> or pick a user in the list (F6) and press Enter.',
      );
      return line;
    }
    if (tab.ended) {
      this.note('This chat has ended. /close closes the tab; /connect asks again.');
      return line;
    }
    try {
      await tab.session.send(text);
    } catch (err) {
      if (err instanceof TextTooLargeError) {
        this.note(
          `Not sent: the message is ${err.bytes} bytes and a chat message holds at most ${err.limitBytes}. Shorten it or split it.`,
          tab,
        );
      } else {
        this.note(`Not sent: ${describeError(err)}`, tab);
      }
      return line;
    }
    return '';
  }

  private async broadcast(text: string, line: string): Promise<Kept> {
    let lifetimeMs: number;
    try {
      const sent = await this.host.features.inbox.send(text);
      // Both times are the server's: their difference is the configured lifetime, whatever our clock says.
      lifetimeMs = sent.expiresAt - sent.createdAt;
    } catch (err) {
      if (err instanceof TextTooLargeError)
        this.note(`Not sent: the broadcast is ${err.bytes} bytes and one holds at most ${err.limitBytes}. Shorten it.`);
      else this.note(`Broadcast not sent: ${describeError(err)}`);
      return line;
    }
    this.note(
      `Broadcast sent: everyone online gets it now, and whoever logs in within ${formatDuration(lifetimeMs)} gets it then.`,
    );
    return '';
  }
}
