/**
 * One handler per client message type (PROTOCOL.md sections 4, 5, 6, 7), over TCP and over
 * UDP. `auth: true` means the server's guard refuses it before login with
 * E_NOT_AUTHENTICATED, and the handler gets an OnlineSession; `auth: false` handlers get any
 * session. A datagram only ever comes from an online session (its key is given at login).
 */
import type { ClientMessage, Msg, UdpClientMessage } from '../../net/messages.ts';
import type { ClientSession, OnlineSession } from '../session.ts';
import { handleDeleteAccount, handlePasswd } from './account.ts';
import { handleAway, handleBack } from './away.ts';
import { handleLogin, handleRegister } from './auth.ts';
import { handleBroadcast, handleBroadcastAck } from './broadcast.ts';
import type { HandlerHost } from './host.ts';
import { handleConnect, handleConnectAnswer, handleConnectCancel } from './peers.ts';
import { handleRelayOpen, handleRelayRequest } from './relay.ts';
import { handleListUsers, handleLogout, handlePing } from './session-control.ts';

export type { HandlerHost } from './host.ts';

type Handle<S, M> = (host: HandlerHost, session: S, message: M) => void | Promise<void>;

/**
 * `unmetered`: not counted toward the per-connection message rate (section 3.2). Only acks:
 * refusing one makes the server send that broadcast again at the next login, so a rate limit
 * on acks costs more traffic than it saves. An ack costs a lookup per id (at most 256 a
 * frame), no reply, and a disk write only for an id not acked before.
 */
export type HandlerEntry<T extends ClientMessage['t']> =
  | { auth: false; unmetered?: true; handle: Handle<ClientSession, Msg<ClientMessage, T>> }
  | { auth: true; unmetered?: true; handle: Handle<OnlineSession, Msg<ClientMessage, T>> };

type HandlerTable = { [T in ClientMessage['t']]?: HandlerEntry<T> };

export const handlers: HandlerTable = {
  login: { auth: false, handle: handleLogin },
  register: { auth: false, handle: handleRegister },
  ping: { auth: true, handle: handlePing },
  list_users: { auth: true, handle: handleListUsers },
  logout: { auth: true, handle: handleLogout },
  broadcast: { auth: true, handle: handleBroadcast },
  broadcast_ack: { auth: true, unmetered: true, handle: handleBroadcastAck },
  connect: { auth: true, handle: handleConnect },
  connect_answer: { auth: true, handle: handleConnectAnswer },
  connect_cancel: { auth: true, handle: handleConnectCancel },
  passwd: { auth: true, handle: handlePasswd },
  delete_account: { auth: true, handle: handleDeleteAccount },
  away: { auth: true, handle: handleAway },
  back: { auth: true, handle: handleBack },
  relay_request: { auth: true, handle: handleRelayRequest },
  relay_open: { auth: false, handle: handleRelayOpen },
};

/** `hello` and `ping` are about the UDP path itself and are answered by the endpoint (udp.ts). */
type RoutedUdpType = Exclude<UdpClientMessage['t'], 'hello' | 'ping'>;
/** `receivedAt`: when the datagram was read, earlier than now if it was held during a fan-out. */
type UdpHandle<M> = (host: HandlerHost, session: OnlineSession, message: M, receivedAt: number) => void | Promise<void>;
type UdpHandlerTable = { [T in RoutedUdpType]: UdpHandle<Msg<UdpClientMessage, T>> };

export const udpHandlers: UdpHandlerTable = {
  bcast_ack: handleBroadcastAck,
};
