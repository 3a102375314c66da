/**
 * Plain words for a chat that could not connect (PROTOCOL.md section 6.6): what happened on
 * each rung of the ladder, from this side's point of view. A peer's failure is never worded as
 * the server's, and the other way round.
 */
import { ErrorCode, type ProtocolError } from '../../net/errors.ts';
import type { Msg, ServerMessage } from '../../net/messages.ts';
import { DialFailure } from './dial.ts';
import { PeerPath } from './path.ts';

type ConnectResult = Msg<ServerMessage, 'connect_result'>;

/** Why a dial to `who` at `where` failed, in words. */
function dialWords(err: ProtocolError, who: string, where: string): string {
  const syscall = err instanceof DialFailure ? err.syscall : undefined;
  if (err.code === ErrorCode.PEER_NO_LISTENER) return `${who} takes no direct connections`;
  if (syscall === 'ECONNREFUSED')
    return `${where} refused the connection (a NAT router or firewall in front of ${who})`;
  if (syscall === 'EHOSTUNREACH' || syscall === 'ENETUNREACH') return `there is no route to ${where}`;
  if (err.code === ErrorCode.UNREACHABLE) return `${where} did not answer (a NAT router or firewall dropped it)`;
  if (err.code === ErrorCode.PEER_HANDSHAKE) return `something at ${where} answered but it is not ${who}'s chat`;
  return `${where}: ${err.message}`;
}

function relayWords(err: ProtocolError, who: string): string {
  // eslint-disable-next-line @typescript-eslint/switch-exhaustiveness-check -- the relay's own codes get words; any other code (there are dozens) reads as its message
  switch (err.code) {
    case ErrorCode.RELAY_PEER_ABSENT:
      return `${who} never reached the server's relay`;
    case ErrorCode.RELAY_FULL:
      return `the server is relaying as many chats as it allows (${err.message})`;
    case ErrorCode.PEER_NO_PATH:
      return 'the server does not relay chats';
    case ErrorCode.DISCONNECTED:
    case ErrorCode.UNREACHABLE:
      return `the server could not be reached to relay (${err.message})`;
    case ErrorCode.RELAY_TOKEN_UNKNOWN:
    case ErrorCode.RELAY_TOKEN_FOREIGN:
    case ErrorCode.RELAY_WRONG_USER:
    case ErrorCode.RELAY_TOKEN_SPENT:
    case ErrorCode.RELAY_TOKEN_EXPIRED:
      return `the server refused to relay (${err.code}: ${err.message})`;
    case ErrorCode.PEER_HANDSHAKE:
      return `the relayed connection did not carry ${who}'s chat (${err.message})`;
    default:
      return `${err.message}`;
  }
}

export function describeLadderFailure(
  role: 'requester' | 'target',
  result: ConnectResult,
  failures: ReadonlyMap<PeerPath, ProtocolError>,
  cause: ProtocolError | null,
): string {
  const who = result.peer.user;
  const where = result.port === undefined ? result.peer.ip : `${result.peer.ip}:${result.port}`;
  const parts: string[] = [];
  const direct = failures.get(PeerPath.DIRECT);
  const reverse = failures.get(PeerPath.REVERSE);
  const relay = failures.get(PeerPath.RELAY);
  if (role === 'requester') {
    if (direct) parts.push(`direct: ${dialWords(direct, who, where)}`);
    if (reverse)
      parts.push(
        `${who}'s call back ${reverse.code === ErrorCode.UNREACHABLE && reverse.message === 'never arrived' ? 'never arrived' : `failed (${reverse.message})`}`,
      );
  } else {
    if (direct)
      parts.push(
        `${who}'s direct connection ${direct.message === 'never arrived' ? 'never arrived' : `failed (${direct.message})`}`,
      );
    if (reverse) parts.push(`calling ${who} back: ${dialWords(reverse, who, where)}`);
  }
  if (relay) parts.push(`relay: ${relayWords(relay, who)}`);
  if (cause && cause.code !== ErrorCode.TIMEOUT) parts.push(cause.message);
  const head =
    cause?.code === ErrorCode.TIMEOUT ? `No way through to ${who} (${cause.message})` : `No way through to ${who}`;
  return `${head}. ${parts.join('; ')}.`;
}
