/**
 * While the dashboard owns the terminal nothing else may write to it: a stray console.log
 * from any module, or a process warning Node prints to stderr, would tear the screen. This
 * routes both into the event pane and gives them back when the dashboard goes (blessed
 * prints a crash's stack with console.error right after destroying the screen, so that must
 * reach the real stderr).
 */
import { format } from 'node:util';
import type { LogLevel, LogSink } from '../log.ts';

const CONSOLE_LEVELS = {
  debug: 'debug',
  log: 'info',
  info: 'info',
  warn: 'warn',
  error: 'error',
} as const satisfies Record<string, LogLevel>;
type ConsoleMethod = keyof typeof CONSOLE_LEVELS;
type WarningListener = (warning: Error) => void;

/** Route console.* and process warnings into `sink`; returns a function that restores both. */
export function captureConsole(sink: LogSink): () => void {
  const methods = Object.keys(CONSOLE_LEVELS) as ConsoleMethod[];
  // eslint-disable-next-line @typescript-eslint/unbound-method -- kept only to be put back on console, never called here
  const saved = methods.map((method) => [method, console[method]] as const);
  for (const method of methods) {
    console[method] = (...args: unknown[]) =>
      sink(CONSOLE_LEVELS[method], 'console', { method, text: format(...args) });
  }
  // Node's own listener is the one that prints warnings to stderr: set it aside meanwhile.
  const warningListeners = process.listeners('warning') as WarningListener[];
  process.removeAllListeners('warning');
  const onWarning: WarningListener = (warning) =>
    sink('warn', 'process_warning', { name: warning.name, message: warning.message });
  process.on('warning', onWarning);
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    for (const [method, original] of saved) console[method] = original;
    process.off('warning', onWarning);
    for (const listener of warningListeners) process.on('warning', listener);
  };
}
