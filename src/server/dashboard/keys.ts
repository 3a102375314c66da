/**
 * Every key the dashboard answers, in one table: the dispatcher binds from it and the `?`
 * overlay is drawn from it, so the help can never disagree with the behaviour.
 */

export const DashboardAction = {
  NEXT_PANE: 'next_pane',
  PREVIOUS_PANE: 'previous_pane',
  LINE_UP: 'line_up',
  LINE_DOWN: 'line_down',
  PAGE_UP: 'page_up',
  PAGE_DOWN: 'page_down',
  FOLLOW: 'follow',
  OPEN: 'open',
  SORT_NEXT: 'sort_next',
  SORT_REVERSE: 'sort_reverse',
  FILTER: 'filter',
  CLEAR_FILTER: 'clear_filter',
  LEVEL: 'level',
  TOGGLE_HELP: 'toggle_help',
  QUIT: 'quit',
} as const;
export type DashboardAction = (typeof DashboardAction)[keyof typeof DashboardAction];

export interface KeyBinding {
  /** blessed key names (`key.full`) that trigger the action. */
  keys: readonly string[];
  /** How the help overlay shows the keys. */
  label: string;
  help: string;
  action: DashboardAction;
}

export const KEY_BINDINGS: readonly KeyBinding[] = [
  { keys: ['tab'], label: 'Tab', help: 'next pane (users, broadcasts, event log)', action: DashboardAction.NEXT_PANE },
  { keys: ['S-tab'], label: 'Shift-Tab', help: 'previous pane', action: DashboardAction.PREVIOUS_PANE },
  { keys: ['up'], label: 'Up', help: 'a line up (in the event log: pause it)', action: DashboardAction.LINE_UP },
  { keys: ['down'], label: 'Down', help: 'a line down in the focused pane', action: DashboardAction.LINE_DOWN },
  { keys: ['pageup'], label: 'PgUp', help: 'a page up in the focused pane', action: DashboardAction.PAGE_UP },
  { keys: ['pagedown'], label: 'PgDn', help: 'a page down in the focused pane', action: DashboardAction.PAGE_DOWN },
  { keys: ['end'], label: 'End', help: 'event log: follow the newest events again', action: DashboardAction.FOLLOW },
  {
    keys: ['enter'],
    label: 'Enter',
    help: 'details of the selected user, broadcast or event (Esc back)',
    action: DashboardAction.OPEN,
  },
  { keys: ['s'], label: 's', help: 'sort the table by the next column', action: DashboardAction.SORT_NEXT },
  { keys: ['S-s'], label: 'S', help: 'reverse the sort', action: DashboardAction.SORT_REVERSE },
  {
    keys: ['/'],
    label: '/',
    help: 'filter the focused pane as you type (Enter keeps, Esc clears)',
    action: DashboardAction.FILTER,
  },
  { keys: ['escape'], label: 'Esc', help: "clear the focused pane's filter", action: DashboardAction.CLEAR_FILTER },
  {
    keys: ['1', '2', '3', '4'],
    label: '1-4',
    help: 'event log from level: 1 debug, 2 info, 3 warn, 4 error',
    action: DashboardAction.LEVEL,
  },
  { keys: ['?'], label: '?', help: 'show or hide this help', action: DashboardAction.TOGGLE_HELP },
  {
    keys: ['q', 'C-c'],
    label: 'q  Ctrl-C',
    help: 'stop the server gracefully (asks first)',
    action: DashboardAction.QUIT,
  },
];

/** Keys that close a detail view. */
export const BACK_KEYS = ['escape', 'enter', 'backspace'] as const;

/** Answers to the stop confirmation; a second Ctrl-C means it too. */
export const CONFIRM_KEYS = ['y', 'enter', 'C-c'] as const;
export const CANCEL_KEYS = ['n', 'escape'] as const;

const actionByKey = new Map<string, DashboardAction>(
  KEY_BINDINGS.flatMap((b) => b.keys.map((k) => [k, b.action] as [string, DashboardAction])),
);

export function actionFor(keyName: string): DashboardAction | undefined {
  return actionByKey.get(keyName);
}

/** The help overlay's text, one binding a line. */
export function helpLines(): string[] {
  const width = Math.max(...KEY_BINDINGS.map((b) => b.label.length));
  return KEY_BINDINGS.map((b) => `${b.label.padEnd(width)}   ${b.help}`);
}
