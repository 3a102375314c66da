/**
 * /passwd and /delete-account (PROTOCOL.md section 4.6). Passwords are asked for in a form
 * whose fields are masked; they go from the form to the client core and nowhere else: never
 * into a tab, the input history or a notice.
 */
import { MIN_PASSWORD_CHARS } from '../../net/constants.ts';
import { ErrorCode, ProtocolError } from '../../net/errors.ts';
import type { P2PClient } from '../client.ts';
import { describeError } from './errors-text.ts';
import { fieldValue, type FieldSpec } from './views/form.ts';

export interface SecretForm {
  title: string;
  intro: string[];
  fields: FieldSpec[];
  hint: string;
}

export interface AccountHost {
  readonly client: P2PClient;
  /**
   * Show the form; resolves with its values on submit, null if the user backs out. `check`
   * runs on submit: a text keeps the form open showing it, null accepts.
   */
  askSecrets(
    form: SecretForm,
    check: (values: Record<string, string>) => string | null,
  ): Promise<Record<string, string> | null>;
  confirm(title: string, lines: string[], question: string): Promise<boolean>;
  note(text: string): void;
  /** After a password change: the saved history's key is wrapped under the new password. */
  passwordChanged?(password: string): Promise<void>;
}

/** The server's E_AUTH_FAILED here is about the password only: the user is logged in. */
function why(err: unknown): string {
  return err instanceof ProtocolError && err.code === ErrorCode.AUTH_FAILED ? 'Wrong password.' : describeError(err);
}

const HINT = 'Enter: next field / submit   Esc: back / cancel';
const masked = (name: string, label: string): FieldSpec => ({ name, label, masked: true });

export async function changePassword(host: AccountHost): Promise<void> {
  const values = await host.askSecrets(
    {
      title: 'Change password',
      intro: ['Your other sessions will be logged out and must use the new password.'],
      fields: [masked('old', 'Current password'), masked('new', 'New password'), masked('again', 'New password again')],
      hint: HINT,
    },
    (v) => {
      if (fieldValue(v, 'old') === '') return 'Type your current password.';
      if ([...fieldValue(v, 'new')].length < MIN_PASSWORD_CHARS)
        return `The new password is too short: use at least ${MIN_PASSWORD_CHARS} characters.`;
      if (v.new !== v.again) return 'The two new passwords do not match.';
      return null;
    },
  );
  if (!values) return host.note('Password not changed.');
  try {
    await host.client.changePassword(fieldValue(values, 'old'), fieldValue(values, 'new'));
  } catch (err) {
    return host.note(`Password not changed: ${why(err)}`);
  }
  try {
    await host.passwordChanged?.(fieldValue(values, 'new'));
  } catch (err) {
    host.note(`The saved history could not be re-keyed to the new password: ${describeError(err)}`);
  }
  host.note('Password changed. Any other session of yours was logged out; use the new password from now on.');
}

export async function deleteAccount(host: AccountHost): Promise<void> {
  const user = host.client.session?.user ?? 'this account';
  const values = await host.askSecrets(
    {
      title: 'Delete account',
      intro: [`This deletes ${user} for good. Type your password to go on.`],
      fields: [masked('password', 'Password')],
      hint: HINT,
    },
    (v) => (fieldValue(v, 'password') === '' ? 'Type your password.' : null),
  );
  if (!values) return host.note('Account not deleted.');
  const sure = await host.confirm(
    'Delete account?',
    [`The account ${user} goes for good: you are logged out, and anyone may register the name afterwards.`],
    `Delete ${user} now?`,
  );
  if (!sure) return host.note('Account not deleted.');
  try {
    await host.client.deleteAccount(fieldValue(values, 'password'));
  } catch (err) {
    return host.note(`Account not deleted: ${why(err)}`);
  }
  host.note(`The account ${user} was deleted. Direct chats carry on until closed; /quit to leave.`);
}
