/**
 * broadcast and broadcast_ack over TCP, bcast_ack over UDP (PROTOCOL.md sections 7.1, 7.2).
 * The rules live in core.broadcasts; these only translate messages.
 */
import type { ClientMessage, Msg, UdpClientMessage } from '../../net/messages.ts';
import type { ServerCore } from '../server.ts';
import type { ClientSession } from '../session.ts';

export async function handleBroadcast(server: ServerCore, session: ClientSession, message: Msg<ClientMessage, 'broadcast'>): Promise<void> {
  // Answer as soon as the broadcast is durable, before the fan-out (section 7.1).
  await server.broadcasts.create(session, message.text, ({ item }) => {
    session.send({ t: 'broadcast_ok', re: message.id, bid: item.bid, createdAt: item.createdAt, expiresAt: item.expiresAt });
  });
}

/** Acks over either path carry the same ids (broadcast_ack over TCP, bcast_ack over UDP). */
export function handleBroadcastAck(
  server: ServerCore,
  session: ClientSession,
  message: Msg<ClientMessage, 'broadcast_ack'> | Msg<UdpClientMessage, 'bcast_ack'>,
): void {
  server.broadcasts.ack(session, message.bids);
}
