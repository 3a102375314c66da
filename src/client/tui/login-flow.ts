/**
 * The screens before the main one: server address (unless given on the command line),
 * first-contact fingerprint question, Login or Register, and the form for each. Errors are
 * shown in plain words on the form, and the user can try again without restarting.
 * The client core does the work (PROTOCOL.md 3.5 for trust, 4.3 for login/register).
 */
import type blessed from 'blessed';
import { P2PClient, type ClientOptions, type Session } from '../client.ts';
import type { TrustQuestion } from '../server-link.ts';
import { formatServer, parseServerList, type ServerAddress } from '../server-list.ts';
import { DEFAULT_PORT } from '../../net/constants.ts';
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import { describeError } from './errors-text.ts';
import type { EditKey } from './line-editor.ts';
import { DialogView } from './views/dialog.ts';
import { fieldValue, FormView } from './views/form.ts';
import { MenuView } from './views/menu.ts';

export const DEFAULT_HOST = '127.0.0.1';
const FORM_HINT = 'Enter: next field / submit   Esc: back   Ctrl-C: quit';
const FINGERPRINT_BYTES_PER_LINE = 16;

export interface LoginFlowOptions {
  host?: string;
  port?: number;
  /** The nodes of a cluster (PROTOCOL.md section 3.7); when given, `host` and `port` are not used. */
  nodes?: readonly ServerAddress[];
  configDir?: string;
  clientOptions?: Partial<ClientOptions>;
  /** Called once per client before its first login (the peer module advertises its port then). */
  prepare?: (client: P2PClient) => Promise<void>;
}

export interface LoginFlowEvents {
  render(): void;
  /** Logged in. `password` unlocks the saved history (it goes nowhere else). */
  done(client: P2PClient, session: Session, password: string): void;
}

type AuthKind = 'login' | 'register';
type Mode =
  | { kind: 'server'; form: FormView }
  | { kind: 'menu'; menu: MenuView<AuthKind> }
  | { kind: AuthKind; form: FormView }
  | { kind: 'busy' };

export class LoginFlow {
  private mode: Mode = { kind: 'busy' };
  private client: P2PClient | null = null;
  private prepared = new WeakSet<P2PClient>();
  private trust: { dialog: DialogView; resolve: (ok: boolean) => void } | null = null;
  /** The server, or a cluster's nodes, as last typed or given. */
  private nodes: readonly ServerAddress[];

  constructor(
    private readonly parent: blessed.Widgets.Screen,
    private readonly options: LoginFlowOptions,
    private readonly events: LoginFlowEvents,
  ) {
    this.nodes = options.nodes?.length
      ? options.nodes
      : [{ host: options.host ?? DEFAULT_HOST, port: options.port ?? DEFAULT_PORT }];
  }

  /** What the screens call the server: `host:port`, or a cluster's nodes. */
  private get label(): string {
    return this.nodes.map(formatServer).join(', ');
  }

  start(): void {
    if (this.options.nodes?.length || (this.options.host !== undefined && this.options.port !== undefined))
      void this.connect();
    else this.showServerForm('');
  }

  handleKey(ch: string | undefined, key: EditKey): void {
    const name = key.full ?? key.name ?? '';
    if (this.trust) {
      const answer = DialogView.answer(ch, name);
      if (answer === null) return;
      const { dialog, resolve } = this.trust;
      this.trust = null;
      dialog.destroy();
      resolve(answer);
    } else if (this.mode.kind === 'server') {
      if (this.mode.form.handleKey(ch, key) === 'submit') this.submitServer(this.mode.form);
    } else if (this.mode.kind === 'menu') {
      const result = this.mode.menu.handleKey(ch, key);
      if (result === 'back') this.showServerForm('');
      else if (result) this.showAuthForm(result.picked, '');
    } else if (this.mode.kind === 'login' || this.mode.kind === 'register') {
      const result = this.mode.form.handleKey(ch, key);
      if (result === 'back') this.showMenu();
      else if (result === 'submit') void this.submitAuth(this.mode.kind, this.mode.form);
    }
    this.events.render();
  }

  /** A bracketed paste into the focused field (a password manager's paste, a server address). */
  paste(text: string): void {
    if (this.trust || !('form' in this.mode)) return;
    this.mode.form.paste(text);
    this.events.render();
  }

  /** Stop the client if the flow is abandoned (quit before login). */
  async dispose(): Promise<void> {
    this.clear();
    this.trust?.resolve(false);
    await this.client?.close();
  }

  private clear(): void {
    if (this.mode.kind === 'server' || this.mode.kind === 'login' || this.mode.kind === 'register')
      this.mode.form.destroy();
    if (this.mode.kind === 'menu') this.mode.menu.destroy();
    this.mode = { kind: 'busy' };
  }

  private showServerForm(error: string): void {
    this.clear();
    const form = new FormView(this.parent, {
      title: 'p2p-client: server',
      intro: [
        'Which server? Its IP address (or host name) and TCP port.',
        "A cluster's nodes: host1:port,host2:port (tried in turn).",
      ],
      fields: [
        { name: 'host', label: 'Server IP', value: this.hostFieldText() },
        { name: 'port', label: 'Port', value: String(this.nodes[0]?.port ?? DEFAULT_PORT) },
      ],
      hint: FORM_HINT,
    });
    form.setError(error);
    this.mode = { kind: 'server', form };
    this.events.render();
  }

  private submitServer(form: FormView): void {
    const values = form.values();
    const host = fieldValue(values, 'host');
    const port = fieldValue(values, 'port');
    const portNumber = Number(port);
    if (host.trim() === '') return form.setError("Type the server's IP address or host name.");
    if (!/^\d+$/.test(port) || portNumber < 1 || portNumber > 65535) {
      form.focusField('port');
      return form.setError('The port is a number from 1 to 65535.');
    }
    try {
      this.nodes = parseServerList(host, portNumber);
    } catch (err) {
      form.focusField('host');
      return form.setError(`${(err as Error).message}.`);
    }
    form.setBusy(`Connecting to ${this.label}…`);
    void this.connect();
  }

  /** One server: its host (the port has its own field); a cluster: every node with its port. */
  private hostFieldText(): string {
    const [first] = this.nodes;
    return this.nodes.length === 1 && first ? first.host : this.nodes.map(formatServer).join(',');
  }

  private async connect(): Promise<void> {
    await this.client?.close();
    const first = this.nodes[0] ?? { host: DEFAULT_HOST, port: DEFAULT_PORT };
    const client = new P2PClient({
      ...this.options.clientOptions,
      host: first.host,
      port: first.port,
      nodes: this.nodes,
      configDir: this.options.configDir,
      trust: (q) => this.askTrust(q),
    });
    this.client = client;
    try {
      await client.connect();
    } catch (err) {
      if (this.client !== client) return;
      this.client = null;
      this.showServerForm(describeError(err));
      return;
    }
    if (this.client === client) this.showMenu();
  }

  private askTrust(q: TrustQuestion): Promise<boolean> {
    const bytes = q.fingerprint.split(':');
    const rows: string[] = [];
    for (let i = 0; i < bytes.length; i += FINGERPRINT_BYTES_PER_LINE)
      rows.push(`    ${bytes.slice(i, i + FINGERPRINT_BYTES_PER_LINE).join(':')}`);
    return new Promise((resolve) => {
      const dialog = new DialogView(this.parent, {
        title: 'New server',
        lines: [
          q.cluster === undefined
            ? `First connection to ${q.host}:${q.port}. Its fingerprint (SHA-256) is:`
            : `First connection to the cluster ${q.cluster} (node ${q.host}:${q.port}). Its fingerprint (SHA-256) is:`,
          ...rows,
          'Compare it with the one the operator gave you (the server logs it).',
          'Once trusted it is remembered; a different one later is refused.',
        ],
        question: 'Trust this server?',
      });
      this.trust = { dialog, resolve };
      this.events.render();
    });
  }

  private showMenu(): void {
    this.clear();
    this.mode = {
      kind: 'menu',
      menu: new MenuView<AuthKind>(this.parent, {
        title: `p2p-client: ${this.label}`,
        intro: ['Log in to an account, or create one.'],
        choices: [
          { value: 'login', label: 'Login', hotkey: 'l' },
          { value: 'register', label: 'Register', hotkey: 'r' },
        ],
        hint: 'l / r, or arrows and Enter   Esc: other server',
      }),
    };
    this.events.render();
  }

  private showAuthForm(kind: AuthKind, error: string, keepUser = ''): void {
    this.clear();
    const fields = [
      { name: 'user', label: 'Username', value: keepUser },
      { name: 'pass', label: 'Password', masked: true },
      ...(kind === 'register' ? [{ name: 'again', label: 'Password again', masked: true }] : []),
    ];
    const form = new FormView(this.parent, {
      title: kind === 'login' ? 'Login' : 'Register',
      intro: [
        kind === 'login'
          ? `Log in to ${this.label}.`
          : `Create an account on ${this.label}. Passwords: 8 characters or more.`,
      ],
      fields,
      hint: FORM_HINT,
    });
    form.setError(error);
    if (keepUser) form.focusField('pass');
    this.mode = { kind, form };
    this.events.render();
  }

  private async submitAuth(kind: AuthKind, form: FormView): Promise<void> {
    const values = form.values();
    const user = fieldValue(values, 'user');
    const pass = fieldValue(values, 'pass');
    const again = values.again; // only the register form has it
    if (user.trim() === '') {
      form.focusField('user');
      return form.setError('Type a username.');
    }
    if (pass === '') return form.setError('Type a password.');
    if (kind === 'register' && pass !== again) {
      form.focusField('pass', true);
      form.focusField('again', true);
      form.focusField('pass');
      return form.setError('The two passwords differ. Type them again.');
    }
    const client = this.client;
    if (!client) return this.showServerForm('');
    form.setBusy(kind === 'login' ? 'Logging in…' : 'Creating the account…');
    this.events.render();
    try {
      if (!this.prepared.has(client)) {
        await this.options.prepare?.(client);
        this.prepared.add(client);
      }
      const session =
        kind === 'login' ? await client.login(user.trim(), pass) : await client.register(user.trim(), pass);
      this.clear();
      this.events.done(client, session, pass);
    } catch (err) {
      if (this.mode.kind !== kind || this.mode.form !== form) return;
      form.setError(describeError(err));
      if (err instanceof ProtocolError && err.code === ErrorCode.FINGERPRINT_CHANGED)
        return this.showServerForm(describeError(err));
      if (
        err instanceof ProtocolError &&
        (err.code === ErrorCode.AUTH_FAILED || err.code === ErrorCode.WEAK_PASSWORD)
      ) {
        form.focusField('pass', true);
        if (kind === 'register') {
          form.focusField('again', true);
          form.focusField('pass');
        }
      }
      if (
        err instanceof ProtocolError &&
        (err.code === ErrorCode.USERNAME_TAKEN || err.code === ErrorCode.BAD_USERNAME)
      )
        form.focusField('user');
      this.events.render();
    }
  }
}
