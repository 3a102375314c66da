/**
 * The headless client core: one object that the TUI (and the tests) drive. It owns the link
 * to the server, the UDP path, the list of online users, and reconnection. Feature modules
 * (peer sessions, broadcasts) listen to its `message`/`udpMessage` events and use `request`.
 */
import { Emitter } from '../util/emitter.ts';
import { KEEPALIVE_INTERVAL_MS, PROTOCOL_VERSION } from '../net/constants.ts';
import { ErrorCode, ProtocolError } from '../net/errors.ts';
import type {
  ClientMessage,
  Msg,
  ServerMessage,
  UdpClientMessage,
  UdpServerMessage,
  UserEntry,
} from '../net/messages.ts';
import { userKey } from '../net/names.ts';
import { sanitizeLine } from '../net/sanitize.ts';
import { awayReasonTooLarge } from '../net/text-limits.ts';
import type { TokenAckEntry } from '../net/token-ack.ts';
import { defaultConfigDir } from './config-dir.ts';
import { KnownHosts } from './known-hosts.ts';
import { asProtocolError, tryNodes, type NodeAt } from './failover.ts';
import type { ServerLink, TrustDecider } from './server-link.ts';
import type { ServerAddress } from './server-list.ts';
import { newDropCounters } from '../net/datagram.ts';
import { UdpLink, UdpState } from './udp-link.ts';

export const ClientState = {
  IDLE: 'idle',
  CONNECTING: 'connecting',
  CONNECTED: 'connected',
  AUTHENTICATING: 'authenticating',
  ONLINE: 'online',
  RECONNECTING: 'reconnecting',
  CLOSED: 'closed',
} as const;
export type ClientState = (typeof ClientState)[keyof typeof ClientState];
export { UdpState };

export const RECONNECT_BASE_MS = 500;
export const RECONNECT_MAX_MS = 30_000;

export interface ClientOptions {
  host: string;
  port: number;
  /**
   * The nodes of a cluster (PROTOCOL.md section 3.7), tried in this order on connect and round
   * robin after a loss, all pinned under one name. Default: just `host`:`port`.
   */
  nodes?: readonly ServerAddress[];
  configDir?: string;
  /** First contact with an unknown server; default: trust (TOFU). The TUI asks the user. */
  trust?: TrustDecider;
  reconnect?: boolean;
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
  keepaliveMs?: number;
  udpKeepaliveMs?: number;
  udpDeadAfterMs?: number;
  /** Send UDP here instead of to the server's host and advertised port (relays, test harnesses). */
  udpTarget?: { host: string; port: number };
}

export interface Session {
  user: string;
  ip: string;
  registered: boolean;
  fingerprint: string;
}

export interface ClientEvents {
  state: [ClientState];
  online: [Session];
  /** The full list of online users after any change. */
  users: [UserEntry[]];
  presence: [{ joined: UserEntry[]; left: string[] }];
  udp: [UdpState];
  /** The server link dropped; `retryInMs` is set when a reconnect is scheduled. */
  disconnected: [{ error: ProtocolError; retryInMs: number | null }];
  /** Messages not consumed by the core (prompts, peer results, broadcasts). */
  message: [ServerMessage];
  udpMessage: [UdpServerMessage];
}

interface Credentials {
  user: string;
  pass: string;
}

export class P2PClient extends Emitter<ClientEvents> {
  state: ClientState = ClientState.IDLE;
  session: Session | null = null;
  /** Port of this client's peer listener, advertised at login (set by the peer module). */
  peerPort: number | undefined;
  readonly knownHosts: KnownHosts;
  /** UDP datagrams dropped since this client was made, by reason (section 5.2). */
  readonly udpDrops = newDropCounters();
  private link: ServerLink | null = null;
  private udpLink: UdpLink | null = null;
  private readonly users = new Map<string, UserEntry>();
  private credentials: Credentials | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  /**
   * Messages that arrive while a login is answered. The server sends presence pages and the
   * broadcast backlog right behind `welcome`, often in the same TCP read, so they are handled
   * before the login's promise continues; held here, they follow the 'online' event instead.
   */
  private early: ServerMessage[] | null = null;
  private reconnectAttempt = 0;
  /** Every node this client may use (one, unless given a cluster's list). */
  readonly nodes: readonly ServerAddress[];
  /** The node the link is open to, or was last. */
  private at: NodeAt;

  constructor(readonly options: ClientOptions) {
    super();
    this.knownHosts = new KnownHosts(options.configDir ?? defaultConfigDir());
    this.nodes = options.nodes?.length ? options.nodes : [{ host: options.host, port: options.port }];
    const first = this.nodes[0] as ServerAddress;
    this.at = { ...first, index: 0, address: first.host };
  }

  /** The node this client is on (or last was, or will try first): shown in the status bar. */
  get server(): NodeAt {
    return this.at;
  }

  get isClosed(): boolean {
    return this.state === ClientState.CLOSED;
  }

  get udpState(): UdpState {
    return this.udpLink?.state ?? UdpState.DOWN;
  }

  get fingerprint(): string | null {
    return this.link?.fingerprint ?? null;
  }

  /** Online users, sorted by name. */
  get onlineUsers(): UserEntry[] {
    return [...this.users.values()].sort((a, b) => a.user.localeCompare(b.user));
  }

  /** Open the TLS connection and wait for the server's greeting. */
  async connect(): Promise<void> {
    if (this.link?.isOpen) return;
    this.setState(ClientState.CONNECTING);
    try {
      const link = await tryNodes({
        nodes: this.nodes,
        from: this.at.index,
        knownHosts: this.knownHosts,
        trust: this.options.trust ?? (() => true),
        closed: () => this.isClosed,
        use: (opened, at) => {
          this.at = at;
          return Promise.resolve(opened);
        },
      });
      this.attach(link);
      this.setState(ClientState.CONNECTED);
    } catch (err) {
      this.setState(ClientState.IDLE);
      throw err;
    }
  }

  login(user: string, pass: string): Promise<Session> {
    return this.authenticate('login', user, pass);
  }

  /** Create the account and log in with it (the server does both in one step). */
  register(user: string, pass: string): Promise<Session> {
    return this.authenticate('register', user, pass);
  }

  /** A request to the server; rejects with the server's error code. */
  async request(body: Parameters<ServerLink['request']>[0]): Promise<ServerMessage> {
    if (!this.link || this.state !== ClientState.ONLINE)
      throw new ProtocolError(ErrorCode.DISCONNECTED, 'not connected to the server');
    return this.link.request(body);
  }

  /** A message that expects no reply (acks). */
  send(message: ClientMessage): boolean {
    if (!this.link?.isOpen || this.state !== ClientState.ONLINE) return false;
    this.link.send(message);
    return true;
  }

  sendUdp(message: UdpClientMessage): boolean {
    const link = this.aliveUdpLink;
    link?.send(message);
    return link !== null;
  }

  /** Acknowledge `bcast` copies by their tokens (section 5.4); false if the UDP path is not alive. */
  sendUdpTokenAck(entries: readonly TokenAckEntry[]): boolean {
    const link = this.aliveUdpLink;
    link?.sendTokenAck(entries);
    return link !== null;
  }

  private get aliveUdpLink(): UdpLink | null {
    return this.udpLink?.state === UdpState.ALIVE ? this.udpLink : null;
  }

  /** Fetch the whole list again, page by page (section 4.5). */
  async refreshUsers(): Promise<UserEntry[]> {
    const all: UserEntry[] = [];
    for (;;) {
      const reply = await this.request({ t: 'list_users', offset: all.length });
      if (reply.t !== 'user_list') throw new ProtocolError(ErrorCode.BAD_MESSAGE, `expected user_list, got ${reply.t}`);
      all.push(...reply.users);
      if (reply.users.length === 0 || all.length >= reply.total) break;
    }
    this.replaceUsers(all);
    return this.onlineUsers;
  }

  /**
   * Change this account's password (section 4.6). The server closes the user's other sessions;
   * this one stays logged in, and reconnects with the new password from now on.
   */
  async changePassword(oldPass: string, newPass: string): Promise<void> {
    const reply = await this.request({ t: 'passwd', old: oldPass, new: newPass });
    if (reply.t !== 'ok') throw new ProtocolError(ErrorCode.BAD_MESSAGE, `expected ok, got ${reply.t}`);
    if (this.credentials) this.credentials.pass = newPass;
  }

  /**
   * Delete this account for good (section 4.6). On success the server closes the connection
   * with E_ACCOUNT_DELETED and the client stays disconnected (no reconnect).
   */
  async deleteAccount(pass: string): Promise<void> {
    const reply = await this.request({ t: 'delete_account', password: pass });
    if (reply.t !== 'ok') throw new ProtocolError(ErrorCode.BAD_MESSAGE, `expected ok, got ${reply.t}`);
    this.credentials = null;
  }

  /**
   * Tell everyone this user is away, with a one-line `reason` ('' for none), or back (null):
   * section 4.7. Every user's list, ours too, shows it once the server's next presence batch
   * arrives. A new login starts available. Rejects with E_AWAY_TOO_LARGE before sending.
   */
  async setAway(reason: string | null): Promise<void> {
    if (reason !== null) {
      const tooLarge = awayReasonTooLarge(reason);
      if (tooLarge) throw tooLarge;
    }
    const reply = await this.request(reason === null ? { t: 'back' } : { t: 'away', reason });
    if (reply.t !== 'ok') throw new ProtocolError(ErrorCode.BAD_MESSAGE, `expected ok, got ${reply.t}`);
  }

  /** Log out and stop for good (no reconnect). */
  async close(): Promise<void> {
    this.credentials = null;
    this.clearReconnect();
    const link = this.link;
    if (link?.isOpen && this.state === ClientState.ONLINE) {
      await Promise.race([link.request({ t: 'logout' }).catch(() => {}), new Promise((r) => setTimeout(r, 1_000))]);
    }
    this.teardown();
    link?.close();
    this.setState(ClientState.CLOSED);
  }

  private async authenticate(kind: 'login' | 'register', user: string, pass: string): Promise<Session> {
    if (!this.link?.isOpen) await this.connect();
    const link = this.link as ServerLink;
    this.setState(ClientState.AUTHENTICATING);
    let reply: ServerMessage;
    this.early = [];
    try {
      reply = await link.request({
        t: kind,
        proto: PROTOCOL_VERSION,
        user,
        pass,
        ...(this.peerPort ? { peerPort: this.peerPort } : {}),
      });
    } catch (err) {
      this.releaseEarly();
      if (this.state === ClientState.AUTHENTICATING)
        this.setState(link.isOpen ? ClientState.CONNECTED : ClientState.IDLE);
      throw err;
    }
    if (reply.t !== 'welcome') {
      this.releaseEarly();
      throw new ProtocolError(ErrorCode.BAD_MESSAGE, `expected welcome, got ${reply.t}`);
    }
    this.credentials = { user: reply.user, pass };
    this.reconnectAttempt = 0;
    this.goOnline(link, reply);
    return this.session as Session;
  }

  private goOnline(link: ServerLink, welcome: Msg<ServerMessage, 'welcome'>): void {
    this.session = {
      user: welcome.user,
      ip: welcome.ip,
      registered: welcome.registered,
      fingerprint: link.fingerprint,
    };
    this.replaceUsers([]); // the list follows welcome as presence batches (section 4.5)
    link.startKeepalive(Math.min(this.options.keepaliveMs ?? KEEPALIVE_INTERVAL_MS, link.hello.keepaliveMs));
    this.startUdp(welcome.udp);
    this.setState(ClientState.ONLINE);
    this.emit('online', this.session);
    this.releaseEarly();
  }

  private releaseEarly(): void {
    const early = this.early;
    this.early = null;
    for (const message of early ?? []) this.onMessage(message);
  }

  private startUdp(grant: Msg<ServerMessage, 'welcome'>['udp']): void {
    this.udpLink?.close();
    const target = this.options.udpTarget ?? { host: this.at.address, port: grant.port };
    const udp = new UdpLink({
      host: target.host,
      port: target.port,
      sid: Buffer.from(grant.sid, 'base64url'),
      key: Buffer.from(grant.key, 'base64url'),
      keepaliveMs: this.options.udpKeepaliveMs,
      deadAfterMs: this.options.udpDeadAfterMs,
      drops: this.udpDrops,
    });
    udp.on('state', (state) => this.emit('udp', state));
    udp.on('message', (message) => this.emit('udpMessage', message));
    this.udpLink = udp;
    this.emit('udp', udp.state);
    udp.start();
  }

  private attach(link: ServerLink): void {
    this.link = link;
    link.on('message', (message) => this.onMessage(message));
    link.on('close', (error) => this.onLinkClosed(link, error));
  }

  private onMessage(message: ServerMessage): void {
    if (this.early) {
      this.early.push(message);
      return;
    }
    if (message.t === 'presence') {
      if (message.reset) this.users.clear();
      for (const name of message.left) this.users.delete(userKey(name));
      for (const entry of message.joined) this.users.set(userKey(entry.user), withSafeAway(entry));
      this.emit('presence', { joined: message.joined, left: message.left });
      this.emit('users', this.onlineUsers);
      return;
    }
    this.emit('message', message);
  }

  private replaceUsers(list: UserEntry[]): void {
    this.users.clear();
    for (const entry of list) this.users.set(userKey(entry.user), withSafeAway(entry));
    this.emit('users', this.onlineUsers);
  }

  private onLinkClosed(link: ServerLink, error: ProtocolError): void {
    if (this.link !== link) return;
    this.link = null;
    // The link of a login in reconnect(): its failure moves that round on to the next node.
    if (this.state === ClientState.RECONNECTING) return;
    const wasOnline = this.state === ClientState.ONLINE;
    this.teardown();
    if (this.isClosed) return;
    // Another login took our place: reconnecting would just knock it off in turn. After a
    // password change or deletion elsewhere, the password we hold no longer works.
    const final = (
      [ErrorCode.SESSION_REPLACED, ErrorCode.VERSION, ErrorCode.PASSWORD_CHANGED, ErrorCode.ACCOUNT_DELETED] as string[]
    ).includes(error.code);
    if (error.code === ErrorCode.PASSWORD_CHANGED || error.code === ErrorCode.ACCOUNT_DELETED) this.credentials = null;
    if (wasOnline && this.credentials && !final && this.options.reconnect !== false) {
      const delay = this.nextDelay();
      this.emit('disconnected', { error, retryInMs: delay });
      this.setState(ClientState.RECONNECTING);
      this.reconnectTimer = setTimeout(() => void this.reconnect(), delay);
    } else {
      this.emit('disconnected', { error, retryInMs: null });
      this.setState(ClientState.IDLE);
    }
  }

  /**
   * One round over the nodes, from the one after the node we lost (section 3.7), logging in
   * on the first that answers; the back-off comes between rounds, so one node down costs
   * nothing more than its refused connection.
   */
  private async reconnect(): Promise<void> {
    this.reconnectTimer = null;
    const credentials = this.credentials;
    if (!credentials || this.isClosed) return;
    this.reconnectAttempt += 1;
    try {
      await tryNodes({
        nodes: this.nodes,
        from: this.at.index + 1,
        knownHosts: this.knownHosts,
        // Never ask again mid-session: an unknown key on reconnect is refused like a changed one.
        trust: () => false,
        closed: () => this.isClosed,
        use: (link, at) => this.relogin(link, at, credentials),
      });
    } catch (err) {
      const error = asProtocolError(err);
      if (this.isClosed) return;
      const final = [
        ErrorCode.AUTH_FAILED,
        ErrorCode.FINGERPRINT_CHANGED,
        ErrorCode.FINGERPRINT_REJECTED,
        ErrorCode.VERSION,
      ].includes(error.code as never);
      const delay = final ? null : Math.max(this.nextDelay(), error.retryAfterMs ?? 0);
      this.emit('disconnected', { error, retryInMs: delay });
      if (delay === null) {
        this.credentials = null;
        this.setState(ClientState.IDLE);
        return;
      }
      this.setState(ClientState.RECONNECTING);
      this.reconnectTimer = setTimeout(() => void this.reconnect(), delay);
    }
  }

  /** Log in again on a freshly opened link; on failure the link is closed and forgotten. */
  private async relogin(link: ServerLink, at: NodeAt, credentials: Credentials): Promise<void> {
    if (this.isClosed) {
      link.close();
      throw new ProtocolError(ErrorCode.DISCONNECTED, 'closed');
    }
    this.attach(link);
    this.early = [];
    try {
      const reply = await link.request({
        t: 'login',
        proto: PROTOCOL_VERSION,
        user: credentials.user,
        pass: credentials.pass,
        ...(this.peerPort ? { peerPort: this.peerPort } : {}),
      });
      if (reply.t !== 'welcome') throw new ProtocolError(ErrorCode.BAD_MESSAGE, `expected welcome, got ${reply.t}`);
      this.at = at;
      this.reconnectAttempt = 0;
      this.goOnline(link, reply);
    } catch (err) {
      this.early = null; // from a link that failed: nothing in them applies any more
      if (this.link === link) this.link = null;
      link.close();
      throw err;
    }
  }

  /** Exponential back-off with jitter: base * 2^attempt, capped, then 50-100% of that. */
  private nextDelay(): number {
    const base = this.options.reconnectBaseMs ?? RECONNECT_BASE_MS;
    const max = this.options.reconnectMaxMs ?? RECONNECT_MAX_MS;
    const ceiling = Math.min(max, base * 2 ** this.reconnectAttempt);
    return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
  }

  private teardown(): void {
    this.udpLink?.close();
    this.udpLink = null;
    if (this.users.size > 0) {
      this.users.clear();
      this.emit('users', []);
    }
  }

  private clearReconnect(): void {
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
  }

  private setState(state: ClientState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit('state', state);
  }
}

/** An away reason is free text from another user: made safe for a terminal on receipt (section 4.7). */
function withSafeAway(entry: UserEntry): UserEntry {
  return entry.away === undefined ? entry : { ...entry, away: sanitizeLine(entry.away) };
}
