/**
 * One handler per client message type (PROTOCOL.md sections 4, 6, 7). `auth: true` means
 * the server's guard refuses it before login with E_NOT_AUTHENTICATED.
 */
import type { ClientMessage, Msg } from '../../net/messages.ts';
import type { ServerCore } from '../server.ts';
import type { ClientSession } from '../session.ts';
import { handleLogin, handleRegister } from './auth.ts';
import { handleBroadcast, handleBroadcastAck } from './broadcast.ts';
import { handleConnect, handleConnectAnswer, handleConnectCancel } from './peers.ts';
import { handleRelayOpen, handleRelayRequest } from './relay.ts';
import { handleListUsers, handleLogout, handlePing } from './session-control.ts';

export interface HandlerEntry<T extends ClientMessage['t']> {
  auth: boolean;
  handle: (server: ServerCore, session: ClientSession, message: Msg<ClientMessage, T>) => void | Promise<void>;
}

type HandlerTable = { [T in ClientMessage['t']]?: HandlerEntry<T> };

export const handlers: HandlerTable = {
  login: { auth: false, handle: handleLogin },
  register: { auth: false, handle: handleRegister },
  ping: { auth: true, handle: handlePing },
  list_users: { auth: true, handle: handleListUsers },
  logout: { auth: true, handle: handleLogout },
  broadcast: { auth: true, handle: handleBroadcast },
  broadcast_ack: { auth: true, handle: handleBroadcastAck },
  connect: { auth: true, handle: handleConnect },
  connect_answer: { auth: true, handle: handleConnectAnswer },
  connect_cancel: { auth: true, handle: handleConnectCancel },
  relay_request: { auth: true, handle: handleRelayRequest },
  relay_open: { auth: false, handle: handleRelayOpen },
};
