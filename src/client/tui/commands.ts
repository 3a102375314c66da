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
  | { kind: 'answer'; accept: boolean; user: string | null }
  | { kind: 'peers' }
  | { kind: 'passwd' }
  | { kind: 'delete-account' }
  | { kind: 'info' }
  | { kind: 'search'; text: string }
  | { kind: 'away'; reason: string }
  | { kind: 'back' }
  | { kind: 'help' }
  | { kind: 'quit' }
  | { kind: 'file'; file: FileOp }
  | { kind: 'empty' }
  | { kind: 'error'; message: string };

export interface CommandHelp {
  usage: string;
  description: string;
}

/** Listed by the help overlay, in this order; Tab completes their names. */
export const COMMANDS: readonly CommandHelp[] = [
  { usage: '/connect <ip|username>', description: 'ask a user for a direct chat' },
  { usage: '/broadcast <text>', description: 'send a broadcast to everyone' },
  { usage: '/accept [user]', description: "accept the chat request shown (or that user's)" },
  { usage: '/decline [user]', description: "decline the chat request shown (or that user's)" },
  { usage: '/close', description: 'end the chat in the current tab' },
  { usage: '/peers', description: 'refresh the user list and focus it' },
  { usage: '/passwd', description: 'change your password (asks for it)' },
  { usage: '/delete-account', description: 'delete your account for good (asks first)' },
  { usage: '/info', description: 'how the chat in this tab is connected' },
  { usage: '/search <text>', description: 'search this tab (Ctrl-R older, Ctrl-S newer)' },
  { usage: '/away [reason]', description: 'tell everyone you are away' },
  { usage: '/back', description: 'you are back' },
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
    case 'accept':
    case 'decline': {
      const user = rest.trim();
      if (/\s/.test(user)) return { kind: 'error', message: `Usage: /${name} [user]` };
      return { kind: 'answer', accept: name === 'accept', user: user || null };
    }
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
    case 'search':
      return { kind: 'search', text: rest };
    case 'away':
      return { kind: 'away', reason: rest.trim() };
    case 'back':
      return { kind: 'back' };
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

/** The command names Tab completes ('/connect', ...), in the order of the help. */
export const COMMAND_NAMES: readonly string[] = COMMANDS.map((c) => c.usage.split(' ')[0] ?? c.usage);
