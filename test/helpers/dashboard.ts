/** A real in-process server with the dashboard drawn on a virtual terminal. */
import type { ServerAppOptions } from '../../src/server/app.ts';
import { createDashboard, type Dashboard, type DashboardOptions } from '../../src/server/dashboard/dashboard.ts';
import type { TestContext } from 'node:test';
import { P2PClient } from '../../src/client/client.ts';
import { defer } from './cleanup.ts';
import { ServerInPty } from './server-pty.ts';
import { passwordOf, startTestServer, tempDir, TEST_SCRYPT_LOG_N, type TestServer } from './server.ts';
import { VirtualTerminal } from './terminal.ts';

export interface DashboardHarness {
  server: TestServer;
  term: VirtualTerminal;
  dashboard: Dashboard;
  /** How many times the operator confirmed stopping. */
  quits: number;
}

export async function withDashboard(
  run: (h: DashboardHarness) => Promise<void>,
  options: Partial<Omit<DashboardOptions, 'app' | 'input' | 'output' | 'onQuit'>> & {
    cols?: number;
    rows?: number;
    server?: Partial<ServerAppOptions>;
  } = {},
): Promise<void> {
  const { server: serverOptions, ...dashboardOptions } = options;
  const server = await startTestServer(serverOptions);
  const term = new VirtualTerminal(options.cols ?? 120, options.rows ?? 40);
  let dashboard: Dashboard | null = null;
  try {
    const harness = { server, term, quits: 0 } as DashboardHarness;
    dashboard = createDashboard({
      ...dashboardOptions,
      app: server.app,
      input: term.input,
      output: term.output,
      terminal: 'xterm-256color',
      onQuit: () => {
        harness.quits += 1;
      },
    });
    harness.dashboard = dashboard;
    await term.waitForText(/TCP \d+/);
    await run(harness);
  } finally {
    await dashboard?.destroy();
    term.dispose();
    await server.close();
  }
}

/** The users-table row of `name` (a name followed by its created date), or undefined. */
export function userRow(screen: string, name: string): string | undefined {
  const row = new RegExp(`\u2502 ?${name} +\\d{4}-\\d{2}-\\d{2} `);
  return screen.split('\n').find((line) => row.test(line));
}

/** The colour of a pane's top-left border corner, found by its label: tells which pane has focus. */
export function paneBorderColor(term: VirtualTerminal, label: string): number {
  const lines = term.lines();
  for (const [y, line] of lines.entries()) {
    const x = line.indexOf(`\u2500 ${label}`);
    if (x > 0) return term.fgColor(x - 1, y);
  }
  throw new Error(`no pane labelled ${label} on screen`);
}

/** bin/p2p-server in a pseudo-terminal with a temp data dir, and real clients for it; all stopped with the test. */
export interface DashboardPty {
  server: ServerInPty;
  port: number;
  dataDir: string;
  /** A registered, logged-in client (password `passwordOf(name)`). */
  user: (name: string) => Promise<P2PClient>;
  /** A connected client that has not logged in. */
  client: () => Promise<P2PClient>;
  /** Every window title the server set (OSC 0/2), from its first byte on. */
  titles: string[];
}

export async function dashboardPty(
  t: TestContext,
  options: { cols?: number; rows?: number; args?: string[]; dataDir?: string } = {},
): Promise<DashboardPty> {
  const data = options.dataDir ? null : await tempDir('dash-pty');
  const dataDir = options.dataDir ?? (data as { path: string }).path;
  const config = await tempDir('dash-pty-client');
  const server = ServerInPty.spawn(
    [
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--data-dir',
      dataDir,
      '--scrypt-cost',
      String(TEST_SCRYPT_LOG_N),
      ...(options.args ?? []),
    ],
    { cols: options.cols ?? 120, rows: options.rows ?? 40 },
  );
  const titles: string[] = [];
  server.term.onTitleChange((title) => titles.push(title));
  const clients: P2PClient[] = [];
  defer(t, async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => {})));
    server.kill();
    await data?.remove();
    await config.remove();
  });
  const listening = /Listening 127\.0\.0\.1 +TCP (\d+)/;
  const port = Number(listening.exec(await server.waitForText(listening))?.[1]);
  const client = async () => {
    const c = new P2PClient({ host: '127.0.0.1', port, configDir: config.path, reconnect: false });
    clients.push(c);
    await c.connect();
    return c;
  };
  return {
    server,
    port,
    dataDir,
    client,
    titles,
    user: async (name) => {
      const c = await client();
      await c.register(name, passwordOf(name));
      return c;
    },
  };
}

/**
 * The data rows of the table whose header row matches `header`, as drawn inside its pane
 * (from its left border to the next border), and the header row itself. contrib draws a
 * blank row under the header; the data rows follow it up to the pane's bottom border.
 */
export function tableOnScreen(
  lines: readonly string[],
  header: RegExp,
): { header: string; headerX: number; rows: string[] } {
  const y = lines.findIndex((line) => header.test(line));
  if (y < 0) throw new Error(`no table header ${header} on screen:\n${lines.join('\n')}`);
  const headerLine = lines[y] ?? '';
  const x = (header.exec(headerLine)?.index ?? 0) + 1; // just right of the left border
  const inside = (line: string) => {
    const from = [...line].slice(x).join('');
    const end = from.indexOf('\u2502');
    return end < 0 ? from : from.slice(0, end);
  };
  const rows: string[] = [];
  for (let i = y + 2; i < lines.length && !(lines[i] ?? '').slice(x - 1).startsWith('\u2514'); i++)
    rows.push(inside(lines[i] ?? ''));
  return { header: inside(headerLine), headerX: x, rows };
}
