/**
 * While the dashboard owns the terminal nothing else may write to it: a stray console.log
 * from any module would tear the screen. This routes the console into the event pane and
 * gives it back when the dashboard goes (blessed prints a crash's stack with console.error
 * right after destroying the screen, so that must reach the real stderr).
 */
import { format } from 'node:util';
import type { LogLevel, LogSink } from '../log.ts';

const CONSOLE_LEVELS = { debug: 'debug', log: 'info', info: 'info', warn: 'warn', error: 'error' } as const satisfies Record<
  string,
  LogLevel
>;
type ConsoleMethod = keyof typeof CONSOLE_LEVELS;

/** Route console.* into `sink`; returns a function that restores the console. */
export function captureConsole(sink: LogSink): () => void {
  const methods = Object.keys(CONSOLE_LEVELS) as ConsoleMethod[];
  const saved = methods.map((method) => [method, console[method]] as const);
  for (const method of methods) {
    console[method] = (...args: unknown[]) => sink(CONSOLE_LEVELS[method], 'console', { method, text: format(...args) });
  }
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    for (const [method, original] of saved) console[method] = original;
  };
}
