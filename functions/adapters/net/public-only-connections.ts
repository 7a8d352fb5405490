import { lookup, type LookupAddress, type LookupOptions } from 'node:dns';
import type * as http from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import { isInternalHost } from '../../domain/secret-keys.ts';
import { plainAgent, type AgentFactory } from '../http/http-exchange.ts';

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

function notAllowed(message: string): NodeJS.ErrnoException {
  const refused: NodeJS.ErrnoException = new Error(message);
  refused.code = 'ENOTALLOWED';
  return refused;
}

/**
 * A `lookup` for outgoing connections of the deployed worker that refuses hosts resolving to loopback, private,
 * link-local or unspecified addresses (the instance metadata endpoint among them). Checking the resolved address at
 * connect time also covers a public name that points, or is re-pointed, at an internal address. Every address is
 * checked before any is given: with `autoSelectFamily` (Node's default since 20) net asks for `all: true` and tries
 * each address it gets, so one internal address among public ones refuses the host.
 */
export function publicOnlyLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const internal = addresses.find((address) => isInternalHost(address.address));
    if (internal || addresses.length === 0) return callback(notAllowed(`${hostname} resolves to a non-public address`), []);
    if (options.all) return callback(null, addresses);
    const [first] = addresses as [LookupAddress];
    callback(null, first.address, first.family);
  });
}

/**
 * Agents for tenant-given addresses, deployed: every connection (each new socket of the pool) is checked as it
 * opens. The Agent hands `lookup` to net/tls connect, so names go through {@link publicOnlyLookup}; Node skips the
 * `lookup` hook for IP literals, so a literal host is checked here itself.
 */
export const publicOnlyAgent: AgentFactory = (protocol, options) => {
  const agent = plainAgent(protocol, { ...options, lookup: publicOnlyLookup });
  const open = agent.createConnection.bind(agent);
  agent.createConnection = (connect: http.ClientRequestArgs, callback?: (error: Error | null, socket: Duplex) => void) => {
    const host = String(connect.host ?? connect.hostname ?? '').replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0 && isInternalHost(host)) {
      const refused = notAllowed(`${host} is a non-public address`);
      // The Agent always passes a callback, and takes the failure through it as it does a failed connect.
      if (callback === undefined) throw refused;
      callback(refused, undefined as unknown as Duplex);
      return undefined;
    }
    return open(connect, callback);
  };
  return agent;
};
