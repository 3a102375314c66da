/**
 * Tab completion in the input line, as irssi and weechat do it: the word before the cursor is
 * completed to a /command (first word of a line starting with '/') or a username (online users
 * first, then others we know); Tab again puts the next match in its place, Shift-Tab the one
 * before. Pure: the editor's text and cursor in, the new text and cursor out.
 */
import { userKey } from '../../net/names.ts';

export interface Candidates {
  /** '/connect', '/broadcast', ... */
  commands: readonly string[];
  /** Online users first, then known ones; no duplicates, not ourselves. */
  users: readonly string[];
}

export interface Completed {
  /** The whole line, as code points joined. */
  value: string;
  /** Cursor in code points, right after the completed word. */
  cursor: number;
}

interface Cycle {
  head: string[];
  tail: string[];
  matches: string[];
  suffix: string;
  index: number;
  /** What the line looked like after our last completion: anything else starts afresh. */
  left: Completed;
}

/** Usernames in the order given (online ones first), each once however it is cased (userKey), without `self`. */
export function knownUsers(self: string | undefined, groups: ReadonlyArray<readonly string[]>): string[] {
  const seen = new Set<string>(self === undefined ? [] : [userKey(self)]);
  const users: string[] = [];
  for (const user of groups.flat()) {
    const key = userKey(user);
    if (seen.has(key)) continue;
    seen.add(key);
    users.push(user);
  }
  return users;
}

const isSpace = (ch: string | undefined) => ch !== undefined && /\s/.test(ch);

export class Completer {
  private cycle: Cycle | null = null;

  /** Complete (step 1) or go back (step -1) at `cursor` (code points); null when nothing matches. */
  complete(points: readonly string[], cursor: number, step: 1 | -1, candidates: () => Candidates): Completed | null {
    const value = points.join('');
    const c = this.cycle;
    if (c && c.left.value === value && c.left.cursor === cursor) {
      c.index = (c.index + step + c.matches.length) % c.matches.length;
      return (c.left = this.build(c));
    }
    this.cycle = null;
    let start = cursor;
    while (start > 0 && !isSpace(points[start - 1])) start--;
    const word = points.slice(start, cursor).join('');
    if (word === '') return null;
    const { commands, users } = candidates();
    const command = start === 0 && word.startsWith('/');
    const folded = word.toLowerCase();
    const matches = (command ? commands : users).filter((m) => m.toLowerCase().startsWith(folded));
    if (matches.length === 0) return null;
    // A name at the start of a message addresses someone ("bob: "), as in IRC; elsewhere a space follows.
    const suffix = !command && start === 0 ? ': ' : ' ';
    const cycle: Cycle = {
      head: points.slice(0, start),
      tail: points.slice(cursor),
      matches,
      suffix,
      index: step === 1 ? 0 : matches.length - 1,
      left: { value: '', cursor: 0 },
    };
    cycle.left = this.build(cycle);
    this.cycle = cycle;
    return cycle.left;
  }

  /** Any other key ends the cycle. */
  reset(): void {
    this.cycle = null;
  }

  private build(c: Cycle): Completed {
    // The separator is not doubled when the rest of the line already starts with a space.
    const word = `${c.matches[c.index] ?? ''}${isSpace(c.tail[0]) ? '' : c.suffix}`;
    const before = [...c.head, ...word];
    return { value: [...before, ...c.tail].join(''), cursor: before.length };
  }
}
