/** Where the client keeps known_hosts: P2P_CONFIG_DIR, else $XDG_CONFIG_HOME/p2p-broadcast, else ~/.config/p2p-broadcast. */
import { homedir } from 'node:os';
import { join } from 'node:path';

export function defaultConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.P2P_CONFIG_DIR) return env.P2P_CONFIG_DIR;
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'p2p-broadcast');
}
