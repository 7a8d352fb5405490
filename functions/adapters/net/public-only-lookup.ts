import { lookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isInternalHost } from '../../domain/secret-keys.ts';

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for outgoing connections of the deployed worker that refuses hosts resolving to loopback, private,
 * link-local or unspecified addresses (the instance metadata endpoint among them). Checking the resolved address at
 * connect time also covers a public name that points, or is re-pointed, at an internal address.
 */
export function publicOnlyLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, []);
    const internal = addresses.find((address) => isInternalHost(address.address));
    if (internal || addresses.length === 0) {
      const refused: NodeJS.ErrnoException = new Error(`${hostname} resolves to a non-public address`);
      refused.code = 'ENOTALLOWED';
      return callback(refused, []);
    }
    if (options.all) return callback(null, addresses);
    const [first] = addresses as [LookupAddress];
    callback(null, first.address, first.family);
  });
}
