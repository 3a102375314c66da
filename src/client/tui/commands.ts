/**
 * The slash commands of the input line. Parsing only: what a command does is up to the
 * main screen. Anything that does not start with "/" is a message for the current tab;
 * "//text" sends "/text" literally.
 */
import { isIP } from 'node:net';
import { FILE_COMMANDS, parseFileCommand, type FileOp } from './files/commands.ts';

export type Command =
  | { kind: 'message'; text: string }
  | { kind: 'connect'; target: { ip: string } | { user: string } }
  | { kind: 'broadcast'; text: string }
  | { kind: 'close' }
  | { kind: 'peers' }
  | { kind: 'passwd' }
  | { kind: 'delete-account' }
  | { kind: 'info' }
  | { kind: 'help' }
  | { kind: 'quit' }
  | { kind: 'file'; file: FileOp }
  | { kind: 'empty' }
  | { kind: 'error'; message: string };

export interface CommandHelp {
  usage: string;
  description: string;
}

/** Listed by the help overlay, in this order. */
export const COMMANDS: readonly CommandHelp[] = [
  { usage: '/connect <ip|username>', description: 'ask a user for a direct chat' },
  { usage: '/broadcast <text>', description: 'send a broadcast to everyone' },
  { usage: '/close', description: 'end the chat in the current tab' },
  { usage: '/peers', description: 'refresh the user list and focus it' },
  { usage: '/passwd', description: 'change your password (asks for it)' },
  { usage: '/delete-account', description: 'delete your account for good (asks first)' },
  { usage: '/info', description: 'how the chat in this tab is connected' },
  ...FILE_COMMANDS,
  { usage: '/help', description: 'show keys and commands' },
  { usage: '/quit', description: 'leave' },
];

export function parseCommand(line: string): Command {
  if (line.trim() === '') return { kind: 'empty' };
  if (!line.startsWith('/')) return { kind: 'message', text: line };
  if (line.startsWith('//')) return { kind: 'message', text: line.slice(1) };
  // '/' alone or followed by a space has no command name: it reads as an unknown command.
  const [, command = '', rest = ''] = /^\/(\S+)\s*([\s\S]*)$/.exec(line) ?? [];
  const name = command.toLowerCase();
  switch (name) {
    case 'connect':
    case 'c': {
      const target = rest.trim();
      if (!target || /\s/.test(target)) return { kind: 'error', message: 'Usage: /connect <ip|username>' };
      return { kind: 'connect', target: isIP(target) ? { ip: target } : { user: target } };
    }
    case 'broadcast':
    case 'b':
      if (rest.trim() === '') return { kind: 'error', message: 'Usage: /broadcast <text>' };
      return { kind: 'broadcast', text: rest };
    case 'close':
      return { kind: 'close' };
    case 'peers':
    case 'users':
      return { kind: 'peers' };
    // Anything typed after these is ignored: passwords are asked for in a masked form, never
    // taken from the input line (which keeps a history).
    case 'passwd':
    case 'password':
      return { kind: 'passwd' };
    case 'delete-account':
      return { kind: 'delete-account' };
    case 'info':
      return { kind: 'info' };
    case 'help':
    case '?':
      return { kind: 'help' };
    case 'quit':
    case 'exit':
    case 'q':
      return { kind: 'quit' };
    default:
      return (
        parseFileCommand(name, rest) ?? { kind: 'error', message: `Unknown command /${name}. Type /help for the list.` }
      );
  }
}
