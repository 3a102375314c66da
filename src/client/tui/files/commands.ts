/** The file transfer commands of the input line (PROTOCOL.md section 6.7): parsing only. */

export type FileOp =
  | { op: 'send'; path: string }
  | { op: 'get'; id: number | null }
  | { op: 'decline'; id: number | null }
  | { op: 'list' }
  | { op: 'cancel'; id: number };

/** For the help overlay (commands.ts lists them with its own). */
export const FILE_COMMANDS: ReadonlyArray<{ usage: string; description: string }> = [
  { usage: '/send <path>', description: 'offer a file to the peer of this chat' },
  { usage: '/get [n]', description: 'accept the file offered (the oldest, or number n)' },
  { usage: '/decline-file [n]', description: 'decline the file offered' },
  { usage: '/transfers', description: 'list file transfers, numbered' },
  { usage: '/cancel <n>', description: 'stop file transfer n (either side)' },
];

/** A parsed file command, an error to show, or null when `name` is not one of these commands. */
export function parseFileCommand(
  name: string,
  rest: string,
): { kind: 'file'; file: FileOp } | { kind: 'error'; message: string } | null {
  const arg = rest.trim();
  const id = /^#?(\d{1,9})$/.exec(arg)?.[1];
  const optionalId = arg === '' ? null : id === undefined ? undefined : Number(id);
  switch (name) {
    case 'send':
      if (arg === '') return { kind: 'error', message: 'Usage: /send <path>' };
      return { kind: 'file', file: { op: 'send', path: arg } };
    case 'get':
      if (optionalId === undefined) return { kind: 'error', message: 'Usage: /get [n]' };
      return { kind: 'file', file: { op: 'get', id: optionalId } };
    case 'decline-file':
      if (optionalId === undefined) return { kind: 'error', message: 'Usage: /decline-file [n]' };
      return { kind: 'file', file: { op: 'decline', id: optionalId } };
    case 'transfers':
      return { kind: 'file', file: { op: 'list' } };
    case 'cancel':
      if (id === undefined) return { kind: 'error', message: 'Usage: /cancel <n> (the number /transfers shows)' };
      return { kind: 'file', file: { op: 'cancel', id: Number(id) } };
    default:
      return null;
  }
}
