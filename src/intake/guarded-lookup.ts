import dns from 'node:dns';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { GenguardError } from '../errors/genguard-error.js';
import type { AddressPolicy } from './url-guard.js';

/** node's `lookup` signature as `net.connect` calls it (with or without `all`). */
export type LookupFunction = (
  hostname: string,
  options: LookupOptions,
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
) => void;

/**
 * A `lookup` for net.connect that resolves, then refuses the connection unless EVERY resolved
 * address passes the policy. Because it runs inside connect, the address checked is the address
 * dialled: a DNS answer that changes between a check and the connection (rebinding) cannot slip
 * through. IP-literal hosts never reach a lookup; callers check those before connecting.
 */
export function guardedLookup(policy: AddressPolicy, base: LookupFunction = dns.lookup as LookupFunction): LookupFunction {
  return (hostname, options, callback) => {
    base(hostname, { ...options, all: true }, (err, result) => {
      if (err) {
        callback(err, '');
        return;
      }
      const addresses: LookupAddress[] = Array.isArray(result)
        ? result
        : [{ address: result, family: result.includes(':') ? 6 : 4 }];
      if (addresses.length === 0) {
        const notFound: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
        notFound.code = 'ENOTFOUND';
        callback(notFound, '');
        return;
      }
      for (const { address } of addresses) {
        const verdict = policy.check(hostname, address);
        if (!verdict.allowed) {
          callback(
            new GenguardError('fetch_refused', `refusing to connect: ${verdict.reason}`, {
              details: { hostname, address },
            }) as unknown as NodeJS.ErrnoException,
            '',
          );
          return;
        }
      }
      if (options.all === true) callback(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}
