/**
 * broadcast and broadcast_ack over TCP, bcast_ack over UDP (PROTOCOL.md sections 7.1, 7.2).
 * The rules live in the broadcasts service; these only translate messages.
 */
import type { ClientMessage, Msg, UdpClientMessage } from '../../net/messages.ts';
import type { OnlineSession } from '../session.ts';
import type { HandlerHost } from './host.ts';

export async function handleBroadcast(
  host: HandlerHost,
  session: OnlineSession,
  message: Msg<ClientMessage, 'broadcast'>,
): Promise<void> {
  // Answer as soon as the broadcast is durable, before the fan-out (section 7.1).
  await host.broadcasts.create(session, message.text, ({ item }) => {
    session.send({
      t: 'broadcast_ok',
      re: message.id,
      bid: item.bid,
      createdAt: item.createdAt,
      expiresAt: item.expiresAt,
    });
  });
}

/**
 * Acks over either path carry the same ids (broadcast_ack over TCP, bcast_ack over UDP).
 * `receivedAt`: when a datagram was read (it may have been held during a fan-out): the round
 * trip ends there, not when it was handled.
 */
export function handleBroadcastAck(
  host: HandlerHost,
  session: OnlineSession,
  message: Msg<ClientMessage, 'broadcast_ack'> | Msg<UdpClientMessage, 'bcast_ack'>,
  receivedAt?: number,
): void {
  host.broadcasts.ack(session, message.bids, message.t === 'bcast_ack' ? 'udp' : 'tcp', receivedAt);
}
