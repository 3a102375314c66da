/**
 * Every key of the TUI in one table. The main screen dispatches through it and the help
 * overlay lists it, so the two cannot drift apart. `keys` are blessed key names
 * (`key.full`: 'C-n', 'M-1', 'S-tab', 'pageup', 'f1', or the character itself).
 */

export type KeyScope = 'global' | 'users' | 'messages' | 'input' | 'search' | 'request' | 'forms';

export const Action = {
  HELP: 'help',
  QUIT: 'quit',
  FOCUS_NEXT: 'focusNext',
  FOCUS_PREV: 'focusPrev',
  TAB_NEXT: 'tabNext',
  TAB_PREV: 'tabPrev',
  TAB_GOTO: 'tabGoto',
  COMPOSE_BROADCAST: 'composeBroadcast',
  CLOSE_TAB: 'closeTab',
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
  SEND: 'send',
  HISTORY_PREV: 'historyPrev',
  HISTORY_NEXT: 'historyNext',
  SCROLL_UP: 'scrollUp',
  SCROLL_DOWN: 'scrollDown',
  ACCEPT: 'accept',
  DECLINE: 'decline',
  FORM_NEXT: 'formNext',
  FORM_BACK: 'formBack',
} as const;
export type Action = (typeof Action)[keyof typeof Action];

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

export const KEYMAP: readonly Binding[] = [
  {
    action: Action.HELP,
    keys: ['f1', '?'],
    label: '? / F1',
    description: 'this help (? only when not typing a line)',
    scope: 'global',
  },
  {
    action: Action.QUIT,
    keys: ['C-c', 'f10'],
    label: 'Ctrl-C / F10',
    description: 'quit (asks first when chats are open)',
    scope: 'global',
  },
  {
    action: Action.FOCUS_NEXT,
    keys: ['tab'],
    label: 'Tab',
    description: 'focus next pane: users, messages, input',
    scope: 'global',
  },
  {
    action: Action.FOCUS_PREV,
    keys: ['S-tab'],
    label: 'Shift-Tab',
    description: 'focus previous pane',
    scope: 'global',
  },
  {
    action: Action.TAB_GOTO,
    keys: TAB_DIGITS.map((d) => `M-${d}`),
    label: 'Alt-1..9',
    description: 'go to tab 1..9 (1 is Broadcasts)',
    scope: 'global',
  },
  { action: Action.TAB_NEXT, keys: ['C-n'], label: 'Ctrl-N', description: 'next tab', scope: 'global' },
  { action: Action.TAB_PREV, keys: ['C-p'], label: 'Ctrl-P', description: 'previous tab', scope: 'global' },
  {
    action: Action.COMPOSE_BROADCAST,
    keys: ['C-b'],
    label: 'Ctrl-B',
    description: 'compose a broadcast',
    scope: 'global',
  },
  {
    action: Action.CLOSE_TAB,
    keys: ['C-w'],
    label: 'Ctrl-W',
    description: 'close the current chat tab',
    scope: 'global',
  },
  { action: Action.PAGE_UP, keys: ['pageup'], label: 'PgUp', description: 'scroll the messages up', scope: 'global' },
  {
    action: Action.PAGE_DOWN,
    keys: ['pagedown'],
    label: 'PgDn',
    description: 'scroll the messages down',
    scope: 'global',
  },
  {
    action: Action.SCROLL_TOP,
    keys: ['C-home'],
    label: 'Home / Ctrl-Home',
    description: 'oldest message (Home: when the input line is empty)',
    scope: 'global',
  },
  {
    action: Action.SCROLL_BOTTOM,
    keys: ['C-end'],
    label: 'End / Ctrl-End',
    description: 'newest message (End: when the input line is empty)',
    scope: 'global',
  },
  {
    action: Action.TOGGLE_USERS,
    keys: ['f2'],
    label: 'F2',
    description: 'show/hide the user list (hidden below 100 columns)',
    scope: 'global',
  },
  {
    action: Action.SEARCH,
    keys: ['C-r'],
    label: 'Ctrl-R',
    description: 'search the current tab (also /search <text>)',
    scope: 'global',
  },
  { action: Action.USER_UP, keys: ['up', 'k'], label: 'Up / k', description: 'previous user', scope: 'users' },
  { action: Action.USER_DOWN, keys: ['down', 'j'], label: 'Down / j', description: 'next user', scope: 'users' },
  {
    action: Action.USER_CONNECT,
    keys: ['enter'],
    label: 'Enter',
    description: 'ask the selected user for a chat',
    scope: 'users',
  },
  { action: Action.SCROLL_TOP, keys: ['home'], label: 'Home', description: 'oldest message', scope: 'messages' },
  { action: Action.SCROLL_BOTTOM, keys: ['end'], label: 'End', description: 'newest message', scope: 'messages' },
  { action: Action.SCROLL_UP, keys: ['up', 'k'], label: 'Up / k', description: 'scroll up a line', scope: 'messages' },
  {
    action: Action.SCROLL_DOWN,
    keys: ['down', 'j'],
    label: 'Down / j',
    description: 'scroll down a line',
    scope: 'messages',
  },
  {
    action: Action.SEND,
    keys: ['enter'],
    label: 'Enter',
    description: 'send to the current tab, or run a /command',
    scope: 'input',
  },
  { action: Action.HISTORY_PREV, keys: ['up'], label: 'Up', description: 'previous line sent', scope: 'input' },
  { action: Action.HISTORY_NEXT, keys: ['down'], label: 'Down', description: 'next line sent', scope: 'input' },
  {
    action: Action.SEARCH_OLDER,
    keys: ['C-r', 'up'],
    label: 'Ctrl-R / Up',
    description: 'previous (older) match',
    scope: 'search',
  },
  {
    action: Action.SEARCH_NEWER,
    keys: ['C-s', 'down'],
    label: 'Ctrl-S / Down',
    description: 'next (newer) match',
    scope: 'search',
  },
  {
    action: Action.SEARCH_DONE,
    keys: ['enter'],
    label: 'Enter',
    description: 'leave the search, staying at the match',
    scope: 'search',
  },
  {
    action: Action.SEARCH_CANCEL,
    keys: ['escape'],
    label: 'Esc',
    description: 'leave the search, back to the newest message',
    scope: 'search',
  },
  { action: Action.ACCEPT, keys: ['y'], label: 'y', description: 'accept the chat request', scope: 'request' },
  {
    action: Action.DECLINE,
    keys: ['n', 'escape'],
    label: 'n / Esc',
    description: 'decline the chat request',
    scope: 'request',
  },
  {
    action: Action.FORM_NEXT,
    keys: ['enter'],
    label: 'Enter',
    description: 'next field; submits on the last',
    scope: 'forms',
  },
  { action: Action.FORM_BACK, keys: ['escape'], label: 'Esc', description: 'previous field, or back', scope: 'forms' },
];

export const SCOPE_TITLES: Record<KeyScope, string> = {
  global: 'Anywhere',
  users: 'User list',
  messages: 'Messages',
  input: 'Input line',
  search: 'Search (Ctrl-R)',
  request: 'Chat request',
  forms: 'Login forms',
};

/** The action bound to a key in a scope, if any. */
export function actionFor(scope: KeyScope, keyName: string): Action | undefined {
  return KEYMAP.find((b) => b.scope === scope && b.keys.includes(keyName))?.action;
}

/** For Alt-digit: which tab (0-based) the key names. */
export function tabIndexOf(keyName: string): number | undefined {
  const m = /^M-([1-9])$/.exec(keyName);
  return m ? Number(m[1]) - 1 : undefined;
}
