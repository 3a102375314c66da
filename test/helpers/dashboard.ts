/** A real in-process server with the dashboard drawn on a virtual terminal. */
import type { ServerAppOptions } from '../../src/server/app.ts';
import { createDashboard, type Dashboard, type DashboardOptions } from '../../src/server/dashboard/dashboard.ts';
import { startTestServer, type TestServer } from './server.ts';
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
  const row = new RegExp(`\u2502 ${name} +\\d{4}-\\d{2}-\\d{2} `);
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
