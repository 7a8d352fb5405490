import { lookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import { buildConnector } from 'undici';
import { isInternalHost } from '../../domain/secret-keys.ts';

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

function notAllowed(message: string): NodeJS.ErrnoException {
  const refused: NodeJS.ErrnoException = new Error(message);
  refused.code = 'ENOTALLOWED';
  return refused;
}

/**
 * A `lookup` for outgoing connections of the deployed worker that refuses hosts resolving to loopback, private,
 * link-local or unspecified addresses (the instance metadata endpoint among them). Checking the resolved address at
 * connect time also covers a public name that points, or is re-pointed, at an internal address.
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
 * undici's connector for tenant-given addresses, deployed: every connection (each hop, each new socket of a pool)
 * is checked as it opens. Node skips the `lookup` hook for IP literals, so a literal host is checked here itself;
 * names go through {@link publicOnlyLookup}.
 */
export function publicOnlyConnector(): buildConnector.connector {
  const connect = buildConnector({ lookup: publicOnlyLookup });
  return (options, callback) => {
    const host = options.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host) !== 0 && isInternalHost(host)) {
      callback(notAllowed(`${host} is a non-public address`), null);
      return;
    }
    connect(options, callback);
  };
}
