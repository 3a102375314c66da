/**
 * Where the client keeps its history, found as the config dir is (config-dir.ts): P2P_DATA_DIR,
 * else $XDG_DATA_HOME/p2p-broadcast, else ~/.local/share/p2p-broadcast; inside it, one
 * directory per server and user: <base>/<host>_<port>/<user>/.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { userKey } from '../../net/names.ts';

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.P2P_DATA_DIR) return env.P2P_DATA_DIR;
  const base = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'p2p-broadcast');
}

/** A host name or address as one safe path segment ('::1' has colons; a name could hold a slash). */
function segment(text: string): string {
  return text.replace(/[^A-Za-z0-9.-]/g, '_');
}

export function historyDir(base: string, host: string, port: number, user: string): string {
  // Usernames are ASCII letters, digits and a few marks (USERNAME_PATTERN); segment() is a guard all the same.
  return join(base, `${segment(host)}_${port}`, segment(userKey(user)));
}
