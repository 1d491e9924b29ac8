/**
 * Until the node has login and roles (issue #13 Deliver 6), the routes that read patient data
 * or record answers answer this machine only, whatever address the listener binds (ADR 0170):
 * /health and STOW-RS keep working for the network, the reading room's routes do not.
 */
import type { IncomingMessage } from 'node:http';

/** True when the request came from the loopback interface (IPv4, IPv6 or mapped). */
export function isLoopbackRequest(req: IncomingMessage): boolean {
  const address = req.socket.remoteAddress ?? '';
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

export const LOCAL_ONLY_REMEDY =
  'the node serves patient data and answers to this machine only until it has login (issue #13) — reach it through an SSH tunnel, or a reverse proxy that authenticates';
