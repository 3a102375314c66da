/**
 * Where the panes of the main screen sit. Sizes are fixed in cells or relative to the
 * screen, so blessed re-lays them on resize without our help.
 *
 *   +- Users ------+ 1 Broadcasts | 2 bob (1) | 3 carol      <- tab bar
 *   | * bob   ip   |+- bob 127.0.0.1 - code 1234-5678 ----+
 *   |   carol ip   || 12:01 bob: hi                       |  <- messages
 *   +--------------++-------------------------------------+
 *   +- Message to bob ------------------------------------+
 *   | > _                                                 |  <- input line
 *   +-----------------------------------------------------+
 *    alice @ 127.0.0.1:4400 | TCP connected | UDP ...       <- status bar
 */
export const USERS_WIDTH = 34;
export const INPUT_HEIGHT = 3;
export const STATUS_HEIGHT = 1;
export const TAB_BAR_HEIGHT = 1;

export const LAYOUT = {
  users: { top: 0, left: 0, width: USERS_WIDTH, height: `100%-${INPUT_HEIGHT + STATUS_HEIGHT}` },
  tabBar: { top: 0, left: USERS_WIDTH, width: `100%-${USERS_WIDTH}`, height: TAB_BAR_HEIGHT },
  messages: {
    top: TAB_BAR_HEIGHT,
    left: USERS_WIDTH,
    width: `100%-${USERS_WIDTH}`,
    height: `100%-${TAB_BAR_HEIGHT + INPUT_HEIGHT + STATUS_HEIGHT}`,
  },
  input: { bottom: STATUS_HEIGHT, left: 0, width: '100%', height: INPUT_HEIGHT },
  status: { bottom: 0, left: 0, width: '100%', height: STATUS_HEIGHT },
} as const;

/** Heights once the input line shows `rows` rows of text (a message of several lines grows it). */
export function paneHeights(rows: number): { input: number; users: string; messages: string } {
  const input = INPUT_HEIGHT - 1 + rows;
  return {
    input,
    users: `100%-${input + STATUS_HEIGHT}`,
    messages: `100%-${TAB_BAR_HEIGHT + input + STATUS_HEIGHT}`,
  };
}

/** From this width the user list is shown beside the messages; below it folds away (F2 shows it). */
export const WIDE_COLS = 100;

/** Whether the user list is on screen: the width decides, F2 (`toggled`) overrides. */
export function usersShown(width: number, toggled: boolean): boolean {
  return width >= WIDE_COLS !== toggled;
}

interface Placed {
  left: number | string;
  width: number | string;
  hidden: boolean;
  show(): void;
  hide(): void;
}

/** Lay the panes out with the user list shown or folded away (the messages take its columns). */
export function applyLayout(panes: { users: Placed; tabBar: Placed; messages: Placed }, showUsers: boolean): void {
  if (showUsers === !panes.users.hidden && panes.messages.left === (showUsers ? USERS_WIDTH : 0)) return;
  if (showUsers) panes.users.show();
  else panes.users.hide();
  for (const pane of [panes.tabBar, panes.messages]) {
    pane.left = showUsers ? USERS_WIDTH : 0;
    pane.width = showUsers ? `100%-${USERS_WIDTH}` : '100%';
  }
}

export const FOCUS_BORDER = 'cyan';
export const BLUR_BORDER = 'gray';

/** The panes Tab cycles through, in order. */
export const FocusPane = { USERS: 'users', MESSAGES: 'messages', INPUT: 'input' } as const;
export type FocusPane = (typeof FocusPane)[keyof typeof FocusPane];
export const FOCUS_ORDER: readonly FocusPane[] = [FocusPane.USERS, FocusPane.MESSAGES, FocusPane.INPUT];
