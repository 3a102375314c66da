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
  FILTER_USERS: 'filter_users',
  CLEAR_FILTER: 'clear_filter',
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
  { keys: ['up'], label: 'Up', help: 'a line up in the focused pane', action: DashboardAction.LINE_UP },
  { keys: ['down'], label: 'Down', help: 'a line down in the focused pane', action: DashboardAction.LINE_DOWN },
  { keys: ['pageup'], label: 'PgUp', help: 'a page up in the focused pane', action: DashboardAction.PAGE_UP },
  { keys: ['pagedown'], label: 'PgDn', help: 'a page down in the focused pane', action: DashboardAction.PAGE_DOWN },
  {
    keys: ['/'],
    label: '/',
    help: 'filter users by name or IP (Enter keeps, Esc clears)',
    action: DashboardAction.FILTER_USERS,
  },
  { keys: ['escape'], label: 'Esc', help: 'clear a kept users filter', action: DashboardAction.CLEAR_FILTER },
  { keys: ['?'], label: '?', help: 'show or hide this help', action: DashboardAction.TOGGLE_HELP },
  {
    keys: ['q', 'C-c'],
    label: 'q  Ctrl-C',
    help: 'stop the server gracefully (asks first)',
    action: DashboardAction.QUIT,
  },
];

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
