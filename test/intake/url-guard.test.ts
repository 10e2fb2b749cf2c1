import type { LookupAddress, LookupOptions } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { GenguardError } from '../../src/errors/genguard-error.js';
import { guardedLookup, type LookupFunction } from '../../src/intake/guarded-lookup.js';
import { AddressPolicy, addressRange, ipLiteral, isPublicAddress } from '../../src/intake/url-guard.js';

describe('isPublicAddress', () => {
  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '100.128.0.1',
    '2606:4700:4700::1111',
    '2a00:1450:4001:80b::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808', // NAT64 of 8.8.8.8
    '2002:808:808::1', // 6to4 of 8.8.8.8
  ])('%s is public', (ip) => {
    expect(addressRange(ip)).toBe('public');
    expect(isPublicAddress(ip)).toBe(true);
  });

  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['100.127.255.255', 'carrierGradeNat'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['240.0.0.1', 'reserved'],
    ['192.0.2.1', 'reserved'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'linkLocal'],
    ['fe80::1%eth0', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['fd12:3456::1', 'uniqueLocal'],
    ['ff02::1', 'multicast'],
    ['::ffff:127.0.0.1', 'loopback via ipv4Mapped'],
    ['::ffff:7f00:1', 'loopback via ipv4Mapped'],
    ['::ffff:10.0.0.1', 'private via ipv4Mapped'],
    ['::ffff:169.254.169.254', 'linkLocal via ipv4Mapped'],
    ['64:ff9b::a00:1', 'private via rfc6052'],
    ['2002:7f00:1::', 'loopback via 6to4'],
    ['::7f00:1', 'reserved'], // deprecated IPv4-compatible form
    ['2001:db8::1', 'reserved'],
    ['fec0::1', 'deprecatedSiteLocal'],
  ])('%s is %s', (ip, range) => {
    expect(addressRange(ip)).toBe(range);
    expect(isPublicAddress(ip)).toBe(false);
  });

  it.each(['localhost', '127.1', '0x7f.0.0.1', '2130706433', '', '1.2.3.4.5'])('%j is not an address', (text) => {
    expect(addressRange(text)).toBe('invalid');
    expect(isPublicAddress(text)).toBe(false);
  });
});

describe('ipLiteral', () => {
  it('reads URL hostnames', () => {
    expect(ipLiteral(new URL('http://[::1]:80/').hostname)).toBe('::1');
    expect(ipLiteral(new URL('http://127.1/').hostname)).toBe('127.0.0.1'); // WHATWG URL normalises
    expect(ipLiteral(new URL('http://2130706433/').hostname)).toBe('127.0.0.1');
    expect(ipLiteral('example.com')).toBeUndefined();
  });
});

describe('AddressPolicy', () => {
  it('allows public addresses and refuses the rest by default', () => {
    const policy = new AddressPolicy([]);
    expect(policy.check('example.com', '93.184.216.34')).toEqual({ allowed: true });
    const refused = policy.check('localhost', '127.0.0.1');
    expect(refused.allowed).toBe(false);
    expect(refused.allowed === false && refused.reason).toMatch(/localhost \(127\.0\.0\.1\).*loopback/);
    expect(policy.check('10.0.0.1', '10.0.0.1').allowed).toBe(false);
  });

  it('allows a listed hostname whatever it resolves to, and nothing else', () => {
    const policy = new AddressPolicy(['LocalHost', 'files.internal.']);
    expect(policy.check('localhost', '127.0.0.1').allowed).toBe(true);
    expect(policy.check('localhost', '::1').allowed).toBe(true);
    expect(policy.check('files.internal', '10.1.2.3').allowed).toBe(true);
    expect(policy.isAllowedHost('FILES.INTERNAL.')).toBe(true);
    expect(policy.check('evil.example', '127.0.0.1').allowed).toBe(false);
    expect(policy.check('sub.files.internal', '10.1.2.3').allowed).toBe(false);
  });

  it('allows a listed IP in either spelling, and only that IP', () => {
    const policy = new AddressPolicy(['127.0.0.1', '[::1]']);
    expect(policy.check('127.0.0.1', '127.0.0.1').allowed).toBe(true);
    expect(policy.check('anything', '127.0.0.1').allowed).toBe(true);
    expect(policy.check('x', '::ffff:127.0.0.1').allowed).toBe(true);
    expect(policy.check('x', '::1').allowed).toBe(true);
    expect(policy.check('x', '127.0.0.2').allowed).toBe(false);
  });

  it('allows CIDR ranges', () => {
    const policy = new AddressPolicy(['10.0.0.0/8', 'fd00::/8']);
    expect(policy.check('a', '10.200.3.4').allowed).toBe(true);
    expect(policy.check('a', 'fd12::1').allowed).toBe(true);
    expect(policy.check('a', '192.168.0.1').allowed).toBe(false);
    expect(policy.check('a', 'fc00::1').allowed).toBe(false);
  });

  it('refuses something that is not an address', () => {
    expect(new AddressPolicy(['localhost']).check('localhost', 'not-an-ip').allowed).toBe(false);
  });
});

describe('guardedLookup', () => {
  const fakeDns =
    (answers: Record<string, LookupAddress[]>): LookupFunction =>
    (hostname, _options, callback) => {
      const found = answers[hostname];
      if (found) callback(null, found);
      else callback(Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '');
    };
  const dns = fakeDns({
    'public.test': [
      { address: '8.8.8.8', family: 4 },
      { address: '2001:4860:4860::8888', family: 6 },
    ],
    'mixed.test': [
      { address: '8.8.8.8', family: 4 },
      { address: '10.0.0.5', family: 4 },
    ],
    'local.test': [{ address: '127.0.0.1', family: 4 }],
  });
  const run = (lookup: LookupFunction, host: string, options: LookupOptions) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown; family: unknown }>((resolve) =>
      lookup(host, options, (err, address, family) => resolve({ err, address, family })),
    );

  it('passes public answers through, in both callback shapes', async () => {
    const lookup = guardedLookup(new AddressPolicy([]), dns);
    const all = await run(lookup, 'public.test', { all: true });
    expect(all.err).toBeNull();
    expect(all.address).toHaveLength(2);
    const one = await run(lookup, 'public.test', {});
    expect(one).toEqual({ err: null, address: '8.8.8.8', family: 4 });
  });

  it('refuses when any resolved address is not allowed', async () => {
    const lookup = guardedLookup(new AddressPolicy([]), dns);
    const mixed = await run(lookup, 'mixed.test', { all: true });
    expect(mixed.err).toBeInstanceOf(GenguardError);
    expect((mixed.err as unknown as GenguardError).code).toBe('fetch_refused');
    expect(mixed.err?.message).toMatch(/10\.0\.0\.5/);
    const local = await run(lookup, 'local.test', {});
    expect((local.err as unknown as GenguardError).code).toBe('fetch_refused');
  });

  it('lets an allowed host resolve to a private address', async () => {
    const lookup = guardedLookup(new AddressPolicy(['local.test']), dns);
    expect(await run(lookup, 'local.test', {})).toEqual({ err: null, address: '127.0.0.1', family: 4 });
  });

  it('passes resolver errors through', async () => {
    const lookup = guardedLookup(new AddressPolicy([]), dns);
    const missing = await run(lookup, 'missing.test', {});
    expect(missing.err?.code).toBe('ENOTFOUND');
  });
});
