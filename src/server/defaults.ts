/**
 * The server's defaults that its command line shows in `--help`: kept apart from the modules
 * that use them so that `p2p-server --help` loads none of the server (issue 15, start-up).
 */

/** Under the 20,000 open-files limit of our machines, with room for files and peers. */
export const DEFAULT_MAX_CONNECTIONS = 16_000;
export const REGISTRATIONS_PER_IP_PER_MINUTE = 30;
/** scrypt's cost as log2(N) for new password hashes (PROTOCOL.md, users.csv). */
export const DEFAULT_SCRYPT_LOG_N = 15;
