/**
 * Where received files go and how big they may be (PROTOCOL.md section 6.7), from flags and
 * the environment; and `~` in a path the user typed.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** --download-dir, else P2P_DOWNLOAD_DIR, else $XDG_DOWNLOAD_DIR, else ~/Downloads/p2p-broadcast. */
export function defaultDownloadDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.P2P_DOWNLOAD_DIR) return env.P2P_DOWNLOAD_DIR;
  if (env.XDG_DOWNLOAD_DIR) return env.XDG_DOWNLOAD_DIR;
  return join(homedir(), 'Downloads', 'p2p-broadcast');
}

const UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** "4G", "500M", "1048576", "2.5g" (binary units, optional "B"/"iB") -> bytes; null if not a size. */
export function parseByteSize(text: string): number | null {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (!match) return null;
  const [, number = '', unit = ''] = match;
  const bytes = Math.floor(Number(number) * (UNITS[unit.toLowerCase()] ?? NaN));
  return Number.isSafeInteger(bytes) && bytes >= 0 ? bytes : null;
}

/** "~" and "~/x" are the home directory; anything else is left as typed. */
export function expandHome(path: string, home = homedir()): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  return path;
}
