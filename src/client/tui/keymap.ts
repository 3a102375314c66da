/**
 * Every key of the TUI in one table. The main screen and the line editor dispatch through
 * it and the help overlay lists it, so they cannot drift apart. `keys` are blessed key names
 * (`key.full`: 'C-n', 'M-1', 'S-tab', 'pageup', 'f1', or the character itself).
 *
 * The input line speaks readline (bash, irssi, weechat): Ctrl-W deletes a word and Ctrl-B
 * moves back a character, as everyone's fingers expect. Keys that act on chats are ones a
 * typist cannot hit by accident while writing a line: Alt-letters readline leaves alone
 * (Alt-Y/N/A) and function keys. Ctrl-R is left free for search.
 */

export type KeyScope = 'global' | 'users' | 'messages' | 'input' | 'search' | 'editing' | 'forms';

export const Action = {
  HELP: 'help',
  QUIT: 'quit',
  FOCUS_NEXT: 'focusNext',
  FOCUS_PREV: 'focusPrev',
  TAB_NEXT: 'tabNext',
  TAB_PREV: 'tabPrev',
  TAB_GOTO: 'tabGoto',
  TAB_ACTIVITY: 'tabActivity',
  CLOSE_TAB: 'closeTab',
  ACCEPT: 'accept',
  DECLINE: 'decline',
  PAGE_UP: 'pageUp',
  PAGE_DOWN: 'pageDown',
  SCROLL_TOP: 'scrollTop',
  SCROLL_BOTTOM: 'scrollBottom',
  TOGGLE_USERS: 'toggleUsers',
  SEARCH: 'search',
  SEARCH_OLDER: 'searchOlder',
  SEARCH_NEWER: 'searchNewer',
  SEARCH_DONE: 'searchDone',
  SEARCH_CANCEL: 'searchCancel',
  USER_UP: 'userUp',
  USER_DOWN: 'userDown',
  USER_CONNECT: 'userConnect',
  SCROLL_UP: 'scrollUp',
  SCROLL_DOWN: 'scrollDown',
  SEND: 'send',
  HISTORY_PREV: 'historyPrev',
  HISTORY_NEXT: 'historyNext',
  COMPLETE: 'complete',
  COMPLETE_BACK: 'completeBack',
  // The line editor's own (line-editor.ts), in every field that edits text.
  NEWLINE: 'newline',
  LINE_START: 'lineStart',
  LINE_END: 'lineEnd',
  CHAR_BACK: 'charBack',
  CHAR_FORWARD: 'charForward',
  WORD_BACK: 'wordBack',
  WORD_FORWARD: 'wordForward',
  DELETE_BACK: 'deleteBack',
  DELETE_FORWARD: 'deleteForward',
  KILL_WORD_BACK: 'killWordBack',
  KILL_WORD_FORWARD: 'killWordForward',
  KILL_TO_START: 'killToStart',
  KILL_TO_END: 'killToEnd',
  YANK: 'yank',
  TRANSPOSE: 'transpose',
  FORM_NEXT: 'formNext',
  FORM_BACK: 'formBack',
} as const;
export type Action = (typeof Action)[keyof typeof Action];

type A = typeof Action;
/** Which actions each scope may bind: a dispatcher switches over its own scope's, exhaustively. */
export interface ScopeActions {
  global:
    | A['HELP']
    | A['QUIT']
    | A['ACCEPT']
    | A['DECLINE']
    | A['TAB_GOTO']
    | A['TAB_ACTIVITY']
    | A['TAB_NEXT']
    | A['TAB_PREV']
    | A['CLOSE_TAB']
    | A['FOCUS_NEXT']
    | A['FOCUS_PREV']
    | A['PAGE_UP']
    | A['PAGE_DOWN']
    | A['SCROLL_TOP']
    | A['SCROLL_BOTTOM']
    | A['TOGGLE_USERS']
    | A['SEARCH'];
  users: A['USER_UP'] | A['USER_DOWN'] | A['USER_CONNECT'];
  messages: A['SCROLL_UP'] | A['SCROLL_DOWN'] | A['SCROLL_TOP'] | A['SCROLL_BOTTOM'];
  search: A['SEARCH_OLDER'] | A['SEARCH_NEWER'] | A['SEARCH_DONE'] | A['SEARCH_CANCEL'];
  input: A['SEND'] | A['HISTORY_PREV'] | A['HISTORY_NEXT'] | A['COMPLETE'] | A['COMPLETE_BACK'];
  editing:
    | A['NEWLINE']
    | A['LINE_START']
    | A['LINE_END']
    | A['CHAR_BACK']
    | A['CHAR_FORWARD']
    | A['WORD_BACK']
    | A['WORD_FORWARD']
    | A['DELETE_BACK']
    | A['DELETE_FORWARD']
    | A['KILL_WORD_BACK']
    | A['KILL_WORD_FORWARD']
    | A['KILL_TO_START']
    | A['KILL_TO_END']
    | A['YANK']
    | A['TRANSPOSE'];
  forms: A['FORM_NEXT'] | A['FORM_BACK'];
}
export type EditAction = ScopeActions['editing'];

export interface Binding {
  action: Action;
  keys: readonly string[];
  /** How the help overlay writes the keys. */
  label: string;
  description: string;
  scope: KeyScope;
}

/** Alt-1 .. Alt-9. */
const TAB_DIGITS = ['1', '2', '3', '4', '5', '6', '7', '8', '9'];

function bind<S extends KeyScope>(
  scope: S,
  action: ScopeActions[S],
  keys: readonly string[],
  label: string,
  description: string,
): Binding {
  return { scope, action, keys, label, description };
}

export const KEYMAP: readonly Binding[] = [
  bind('global', Action.HELP, ['f1'], 'F1', 'this help (also /help)'),
  bind('global', Action.QUIT, ['C-c', 'f10'], 'Ctrl-C / F10', 'quit (asks first when chats are open)'),
  bind('global', Action.ACCEPT, ['M-y'], 'Alt-Y', 'accept the chat request shown (also /accept [user])'),
  bind('global', Action.DECLINE, ['M-n'], 'Alt-N', 'decline the chat request shown (also /decline [user])'),
  bind(
    'global',
    Action.TAB_GOTO,
    TAB_DIGITS.map((d) => `M-${d}`),
    'Alt-1..9',
    'go to tab 1..9 (1 is Broadcasts)',
  ),
  bind('global', Action.TAB_ACTIVITY, ['M-a'], 'Alt-A', 'go to the next tab with news (a new chat, unread lines)'),
  bind('global', Action.TAB_NEXT, ['C-n'], 'Ctrl-N', 'next tab'),
  bind('global', Action.TAB_PREV, ['C-p'], 'Ctrl-P', 'previous tab'),
  bind('global', Action.CLOSE_TAB, ['f8'], 'F8', 'close the current chat tab (asks first; also /close)'),
  bind('global', Action.FOCUS_NEXT, ['f6'], 'F6', 'focus next pane: users, messages, input'),
  bind('global', Action.FOCUS_PREV, ['S-f6'], 'Shift-F6', 'focus previous pane'),
  bind('global', Action.PAGE_UP, ['pageup'], 'PgUp', 'scroll the messages up'),
  bind('global', Action.PAGE_DOWN, ['pagedown'], 'PgDn', 'scroll the messages down'),
  bind(
    'global',
    Action.SCROLL_TOP,
    ['C-home'],
    'Home / Ctrl-Home',
    'oldest message (Home: when the input line is empty)',
  ),
  bind(
    'global',
    Action.SCROLL_BOTTOM,
    ['C-end'],
    'End / Ctrl-End',
    'newest message (End: when the input line is empty)',
  ),
  bind('global', Action.TOGGLE_USERS, ['f2'], 'F2', 'show/hide the user list (hidden below 100 columns)'),
  bind('global', Action.SEARCH, ['C-r'], 'Ctrl-R', 'search the current tab (also /search <text>)'),
  bind('users', Action.USER_UP, ['up', 'k'], 'Up / k', 'previous user'),
  bind('users', Action.USER_DOWN, ['down', 'j'], 'Down / j', 'next user'),
  bind('users', Action.USER_CONNECT, ['enter'], 'Enter', 'ask the selected user for a chat'),
  bind('messages', Action.SCROLL_TOP, ['home'], 'Home', 'oldest message'),
  bind('messages', Action.SCROLL_BOTTOM, ['end'], 'End', 'newest message'),
  bind('messages', Action.SCROLL_UP, ['up', 'k'], 'Up / k', 'scroll up a line'),
  bind('messages', Action.SCROLL_DOWN, ['down', 'j'], 'Down / j', 'scroll down a line'),
  bind('input', Action.SEND, ['enter'], 'Enter', 'send to the current tab, or run a /command'),
  bind('input', Action.HISTORY_PREV, ['up'], 'Up', 'previous line sent (or the row above)'),
  bind('input', Action.HISTORY_NEXT, ['down'], 'Down', 'next line sent (or the row below)'),
  bind('input', Action.COMPLETE, ['tab'], 'Tab', 'complete a /command or username; again: the next match'),
  bind('input', Action.COMPLETE_BACK, ['S-tab'], 'Shift-Tab', 'the previous match'),
  bind('search', Action.SEARCH_OLDER, ['C-r', 'up'], 'Ctrl-R / Up', 'previous (older) match'),
  bind('search', Action.SEARCH_NEWER, ['C-s', 'down'], 'Ctrl-S / Down', 'next (newer) match'),
  bind('search', Action.SEARCH_DONE, ['enter'], 'Enter', 'leave the search, staying at the match'),
  bind('search', Action.SEARCH_CANCEL, ['escape'], 'Esc', 'leave the search, back to the newest message'),
  bind('editing', Action.NEWLINE, ['M-enter'], 'Alt-Enter', 'a new line in the message'),
  bind('editing', Action.LINE_START, ['C-a', 'home'], 'Ctrl-A / Home', 'start of the line'),
  bind('editing', Action.LINE_END, ['C-e', 'end'], 'Ctrl-E / End', 'end of the line'),
  bind('editing', Action.CHAR_BACK, ['C-b', 'left'], 'Ctrl-B / Left', 'back a character'),
  bind('editing', Action.CHAR_FORWARD, ['C-f', 'right'], 'Ctrl-F / Right', 'forward a character'),
  bind('editing', Action.WORD_BACK, ['M-b', 'M-left', 'C-left'], 'Alt-B', 'back a word'),
  bind('editing', Action.WORD_FORWARD, ['M-f', 'M-right', 'C-right'], 'Alt-F', 'forward a word'),
  bind('editing', Action.DELETE_BACK, ['backspace'], 'Backspace', 'delete the character before'),
  bind('editing', Action.DELETE_FORWARD, ['delete', 'C-d'], 'Delete / Ctrl-D', 'delete the character under'),
  bind('editing', Action.KILL_WORD_BACK, ['C-w', 'M-backspace'], 'Ctrl-W / Alt-Bksp', 'delete the word before'),
  bind('editing', Action.KILL_WORD_FORWARD, ['M-d'], 'Alt-D', 'delete the word after'),
  bind('editing', Action.KILL_TO_START, ['C-u'], 'Ctrl-U', 'delete to the start of the line'),
  bind('editing', Action.KILL_TO_END, ['C-k'], 'Ctrl-K', 'delete to the end of the line'),
  bind('editing', Action.YANK, ['C-y'], 'Ctrl-Y', 'paste back what was deleted last'),
  bind('editing', Action.TRANSPOSE, ['C-t'], 'Ctrl-T', 'swap the two characters at the cursor'),
  bind('forms', Action.FORM_NEXT, ['enter'], 'Enter', 'next field; submits on the last'),
  bind('forms', Action.FORM_BACK, ['escape'], 'Esc', 'previous field, or back'),
];

export const SCOPE_TITLES: Record<KeyScope, string> = {
  global: 'Anywhere',
  users: 'User list',
  messages: 'Messages',
  input: 'Input line',
  search: 'Search (Ctrl-R)',
  editing: 'Editing (input line and forms)',
  forms: 'Login forms',
};

/** One lookup table per scope, built once: a keypress is one map read. */
const BY_SCOPE = new Map<KeyScope, Map<string, Action>>();
for (const b of KEYMAP) {
  const table = BY_SCOPE.get(b.scope) ?? new Map<string, Action>();
  for (const key of b.keys) if (!table.has(key)) table.set(key, b.action);
  BY_SCOPE.set(b.scope, table);
}

/** The action bound to a key in a scope, if any (bind() let only that scope's actions in). */
export function actionFor<S extends KeyScope>(scope: S, keyName: string): ScopeActions[S] | undefined {
  return BY_SCOPE.get(scope)?.get(keyName) as ScopeActions[S] | undefined;
}

/** For Alt-digit: which tab (0-based) the key names. */
export function tabIndexOf(keyName: string): number | undefined {
  const m = /^M-([1-9])$/.exec(keyName);
  return m ? Number(m[1]) - 1 : undefined;
}
