/**
 * What a password must be (PROTOCOL.md section 4.1), one definition for register, login and
 * the account changes of section 4.6. Each check throws the ProtocolError the client gets.
 */
import { MIN_PASSWORD_CHARS } from '../../net/constants.ts';
import { ErrorCode, ProtocolError } from '../../net/errors.ts';

/** With the u flag, [\uD800-\uDFFF] matches only surrogates that are not part of a pair. */
const NOT_WELL_FORMED = /[\uD800-\uDFFF\uFFFD]/u;

/** Any password sent, old or new. */
export function assertWellFormedPassword(pass: string): void {
  // Lone surrogates and U+FFFD (what invalid UTF-8 decodes to) would all hash as U+FFFD:
  // different passwords sent would match one another.
  if (NOT_WELL_FORMED.test(pass)) {
    throw new ProtocolError(
      ErrorCode.BAD_MESSAGE,
      'a password must be valid Unicode text (no lone surrogates, no U+FFFD)',
    );
  }
}

/** A password about to be stored (register, passwd). */
export function assertNewPassword(pass: string): void {
  assertWellFormedPassword(pass);
  if ([...pass].length < MIN_PASSWORD_CHARS) {
    throw new ProtocolError(ErrorCode.WEAK_PASSWORD, `a password needs at least ${MIN_PASSWORD_CHARS} characters`);
  }
}
