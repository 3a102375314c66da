/**
 * Tab completion of a path after `/send ` (PROTOCOL.md section 6.7 is what it is for). The
 * input line's completion calls completePath(prefix) and replaces the prefix with `line`.
 * Reads one directory; a directory is completed with a trailing "/" so the next Tab goes in.
 */
import { readdir } from 'node:fs/promises';
import { expandHome } from './places.ts';

/** Entries offered at most (a huge directory lists its first ones). */
export const MAX_COMPLETIONS = 200;

export interface PathCompletion {
  /** The prefix extended as far as every candidate agrees (unchanged if they do not). */
  line: string;
  /** Names that match, directories with a trailing "/", sorted; empty when nothing matches. */
  candidates: string[];
}

export async function completePath(prefix: string, home?: string): Promise<PathCompletion> {
  const slash = prefix.lastIndexOf('/');
  const typedDir = slash >= 0 ? prefix.slice(0, slash + 1) : '';
  const partial = slash >= 0 ? prefix.slice(slash + 1) : prefix;
  const dir = typedDir === '' ? '.' : expandHome(typedDir === '~/' ? '~' : typedDir, home);
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return { line: prefix, candidates: [] };
  }
  // Hidden entries only when the user typed the dot.
  const candidates = entries
    .filter((e) => e.name.startsWith(partial) && (partial.startsWith('.') || !e.name.startsWith('.')))
    .map((e) => (e.isDirectory() ? `${e.name}/` : e.name))
    .sort()
    .slice(0, MAX_COMPLETIONS);
  if (candidates.length === 0) return { line: prefix, candidates };
  const common = commonPrefix(candidates);
  return { line: typedDir + (common.length > partial.length ? common : partial), candidates };
}

function commonPrefix(words: string[]): string {
  let prefix = words[0] ?? '';
  for (const word of words) {
    while (!word.startsWith(prefix)) prefix = prefix.slice(0, -1);
  }
  return prefix;
}
