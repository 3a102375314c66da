/**
 * The client TUI as a factory: give it terminal streams (tests inject them; the launcher
 * passes none, so the process's terminal is used) and where to connect. It runs the login
 * screens, then the main screen, and resolves `done` when the user quits.
 */
import type blessed from 'blessed';
import type { P2PClient } from '../client.ts';
import { buildFeatures, type FileOptions } from './adapters/index.ts';
import { LoginFlow, type LoginFlowOptions } from './login-flow.ts';
import { MainScreen } from './main-screen.ts';
import { createScreen, isTooSmall, type TerminalStreams } from './screen.ts';
import type { Features } from './sources.ts';
import { TooSmallView } from './views/too-small.ts';

export interface AppOptions extends TerminalStreams, Omit<LoginFlowOptions, 'prepare'> {
  now?: () => number;
  /**
   * Runs once a client's features (peer listener, inbox) are built, before it logs in. Tests
   * use it to advertise a peer port nothing answers on, as behind a NAT.
   */
  beforeLogin?: (client: P2PClient) => void | Promise<void>;
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
  const screen = createScreen(options);
  const tooSmall = new TooSmallView(screen);
  /** Built for the client before it logs in (so the peer listener's port is advertised). */
  let features: Features | null = null;
  let client: P2PClient | null = null;
  let main: MainScreen | null = null;
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
      done: (c) => {
        client = c;
        if (!features) throw new Error('LoginFlow logs in only after prepare()');
        main = new MainScreen(screen, { client: c, features, now: options.now, onQuit: () => void quit() });
      },
    },
  );

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
