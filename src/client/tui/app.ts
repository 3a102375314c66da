/**
 * The client TUI as a factory: give it terminal streams (tests inject them; the launcher
 * passes none, so the process's terminal is used) and where to connect. It runs the login
 * screens, then the main screen, and resolves `done` when the user quits.
 */
import type blessed from 'blessed';
import type { P2PClient } from '../client.ts';
import { historyDir } from '../history/data-dir.ts';
import { homeOf } from '../server-list.ts';
import { HistoryStore, type HistoryOptions } from '../history/store.ts';
import { describeError } from './errors-text.ts';
import { buildFeatures, type FileOptions } from './adapters/index.ts';
import { LoginFlow, type LoginFlowOptions } from './login-flow.ts';
import { MainScreen } from './main-screen.ts';
import { isTooSmall, openTerminal, type TerminalStreams } from './screen.ts';
import type { Features } from './sources.ts';
import { TabHistory } from './tab-history.ts';
import { TooSmallView } from './views/too-small.ts';

export interface AppOptions extends TerminalStreams, Omit<LoginFlowOptions, 'prepare'> {
  now?: () => number;
  /**
   * Runs once a client's features (peer listener, inbox) are built, before it logs in. Tests
   * use it to advertise a peer port nothing answers on, as behind a NAT.
   */
  beforeLogin?: (client: P2PClient) => void | Promise<void>;
  /**
   * Where saved history goes (history/data-dir.ts); without it nothing is kept on disk
   * (--no-history). A subdirectory per server and user is made inside.
   */
  dataDir?: string;
  /** scrypt cost and size bounds of the history store (tests make them small). */
  historyOptions?: HistoryOptions;
  /** Saved lines read into a tab at a time (tab-history.ts HISTORY_PAGE_LINES). */
  historyPageLines?: number;
  /** File transfer: download directory and size limit (PROTOCOL.md section 6.7). */
  files?: FileOptions;
}

export interface TuiApp {
  readonly screen: blessed.Widgets.Screen;
  /** Resolves once the user quit and everything is closed. */
  readonly done: Promise<void>;
  readonly client: P2PClient | null;
  readonly main: MainScreen | null;
  quit(): Promise<void>;
}

interface KeyEvent {
  name?: string;
  full?: string;
  ctrl?: boolean;
  meta?: boolean;
}

export function createApp(options: AppOptions): TuiApp {
  const { screen, input } = openTerminal(options);
  const tooSmall = new TooSmallView(screen);
  /** Built for the client before it logs in (so the peer listener's port is advertised). */
  let features: Features | null = null;
  let client: P2PClient | null = null;
  let main: MainScreen | null = null;
  let saved: TabHistory | null = null;
  let quitting: Promise<void> | null = null;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));

  const render = () => {
    if (main) main.renderNow();
    else screen.render();
  };

  const quit = () =>
    (quitting ??= (async () => {
      main?.dispose();
      await saved?.close().catch(() => {});
      await login.dispose();
      await features?.close();
      await client?.close();
      screen.destroy();
      finish();
    })());

  const login = new LoginFlow(
    screen,
    {
      ...options,
      prepare: async (c) => {
        // A new client (another server picked): the previous one's listener and inbox go.
        await features?.close();
        features = await buildFeatures(c, options.files);
        await options.beforeLogin?.(c);
      },
    },
    {
      render,
      done: (c, session, password) => {
        client = c;
        if (!features) throw new Error('LoginFlow logs in only after prepare()');
        const built = features;
        void openHistory(c, session.user, password).then((history) => {
          if (quitting) return void history.saved?.close();
          saved = history.saved;
          main = new MainScreen(screen, {
            client: c,
            features: built,
            now: options.now,
            onQuit: () => void quit(),
            ...(saved ? { saved } : {}),
          });
          if (history.problem) main.note(history.problem);
        });
      },
    },
  );

  /** The user's saved history, or why there is none this time (the chat goes on without it). */
  const openHistory = async (c: P2PClient, user: string, password: string) => {
    if (options.dataDir === undefined) return { saved: null, problem: '' };
    // One history per cluster, whichever node the session is on (PROTOCOL.md section 3.7).
    const home = homeOf(c.nodes) ?? c.server;
    const dir = historyDir(options.dataDir, home.host, home.port, user);
    try {
      const store = await HistoryStore.open(dir, password, options.historyOptions);
      return { saved: await TabHistory.load(store, options.historyPageLines), problem: '' };
    } catch (err) {
      return { saved: null, problem: `History is off for this session: ${describeError(err)}` };
    }
  };

  const checkSize = () => {
    tooSmall.update(screen.width as number, screen.height as number);
    tooSmall.setVisible(isTooSmall(screen));
  };

  screen.on('keypress', (ch: string | undefined, key: KeyEvent) => {
    if (quitting) return;
    const name = key.full ?? key.name ?? '';
    // blessed reports Enter twice for '\r' (as 'return' and 'enter'); we act on 'enter' only.
    if (name === 'return') return;
    if (isTooSmall(screen)) {
      if (name === 'C-c') void quit();
      return;
    }
    if (main) return main.handleKey(ch, key);
    if (name === 'C-c' || name === 'f10') return void quit();
    login.handleKey(ch, key);
  });

  // Read before blessed (screen.ts): a paste is one piece of text, Alt-Enter a new line.
  input.on('paste', (text, truncated) => {
    if (quitting || isTooSmall(screen)) return;
    if (main) main.paste(text, truncated);
    else login.paste(text);
  });
  input.on('newline', () => {
    if (!quitting && !isTooSmall(screen)) main?.newline();
  });

  screen.on('resize', () => {
    checkSize();
    if (main) main.relayout();
    else screen.render();
  });

  checkSize();
  login.start();
  render();

  return {
    screen,
    done,
    get client() {
      return client;
    },
    get main() {
      return main;
    },
    quit,
  };
}
