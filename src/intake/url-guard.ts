import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * The range an IP address belongs to: `public` for globally routable unicast, otherwise the
 * name of the special range (`loopback`, `private`, `linkLocal`, `carrierGradeNat`, …).
 * IPv6 forms that embed an IPv4 address (IPv4-mapped, NAT64, 6to4) are judged by the embedded
 * address, so `::ffff:127.0.0.1` is `loopback`. Anything that is not an IP is `invalid`.
 */
export function addressRange(ip: string): string {
  const addr = parseIp(ip);
  return addr === undefined ? 'invalid' : rangeOf(addr);
}

export function isPublicAddress(ip: string): boolean {
  return addressRange(ip) === 'public';
}

export type AddressVerdict = { allowed: true } | { allowed: false; reason: string };

/**
 * Which destinations a URL fetch may reach. Public addresses always; anything else only when
 * `allowHosts` names the hostname (exact, case-insensitive), the IP, or a CIDR range holding it.
 * Pure: resolution happens elsewhere (see guarded-lookup.ts), this only judges an address.
 */
export class AddressPolicy {
  private readonly hosts = new Set<string>();
  private readonly ranges: Array<[Address, number]> = [];

  constructor(allowHosts: readonly string[] = []) {
    for (const raw of allowHosts) {
      const entry = normalizeHost(raw);
      if (entry === '') continue;
      if (entry.includes('/') && ipaddr.isValidCIDR(entry)) {
        this.ranges.push(ipaddr.parseCIDR(entry));
        continue;
      }
      const addr = parseIp(entry);
      if (addr !== undefined) {
        this.ranges.push([addr, addr.kind() === 'ipv4' ? 32 : 128]);
        // An allowed IPv4 also allows its IPv4-mapped IPv6 spelling, and the reverse.
        const other = alternateForm(addr);
        if (other !== undefined) this.ranges.push([other, other.kind() === 'ipv4' ? 32 : 128]);
      } else {
        this.hosts.add(entry);
      }
    }
  }

  /** Whether `hostname` itself is on the allow-list (so any address it resolves to is fine). */
  isAllowedHost(hostname: string): boolean {
    return this.hosts.has(normalizeHost(hostname));
  }

  /** Judges one address that `hostname` resolved to (or the hostname itself, when it is an IP literal). */
  check(hostname: string, address: string): AddressVerdict {
    const addr = parseIp(address);
    if (addr === undefined) return { allowed: false, reason: `"${address}" is not an IP address` };
    const range = rangeOf(addr);
    if (range === 'public') return { allowed: true };
    if (this.isAllowedHost(hostname)) return { allowed: true };
    if (this.ranges.some(([net, bits]) => net.kind() === addr.kind() && addr.match(net, bits))) {
      return { allowed: true };
    }
    const where = normalizeHost(hostname) === normalizeHost(address) ? address : `${hostname} (${address})`;
    return {
      allowed: false,
      reason: `${where} is a non-public (${range}) address; add it to GENGUARD_FETCH_ALLOW_HOSTS to allow it`,
    };
  }
}

/** Lower-case, without IPv6 brackets or a trailing dot, as URL.hostname and DNS answers compare. */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[') && h.endsWith(']')) h = h.slice(1, -1);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

/** The IP literal a URL hostname spells, if any (`[::1]` → `::1`). */
export function ipLiteral(hostname: string): string | undefined {
  const h = normalizeHost(hostname);
  return isIP(h) === 0 ? undefined : h;
}

function parseIp(ip: string): Address | undefined {
  const h = normalizeHost(ip);
  // isIP rejects the shorthand IPv4 forms ("127.1", "0x7f.1") that ipaddr.js would accept.
  if (isIP(h.split('%')[0] ?? '') === 0) return undefined;
  try {
    return ipaddr.parse(h);
  } catch {
    return undefined;
  }
}

function rangeOf(addr: Address): string {
  if (addr.kind() === 'ipv4') {
    const range = (addr as ipaddr.IPv4).range();
    return range === 'unicast' ? 'public' : range;
  }
  const v6 = addr as ipaddr.IPv6;
  const range = v6.range();
  const p = v6.parts;
  switch (range) {
    case 'ipv4Mapped':
    case 'rfc6145':
      return embedded(p[6]!, p[7]!, range);
    case 'rfc6052':
      // 64:ff9b::/96 is the well-known NAT64 prefix (IPv6-only networks reach every IPv4 host
      // through it); 64:ff9b:1::/48 is for local use.
      return p[1] === 0xff9b && p[2] === 0 ? embedded(p[6]!, p[7]!, range) : range;
    case '6to4':
      return embedded(p[1]!, p[2]!, range);
    case 'unicast':
      // Only 2000::/3 is allocated global unicast; the rest (including the deprecated
      // IPv4-compatible ::a.b.c.d) must not be reached.
      return (p[0]! & 0xe000) === 0x2000 ? 'public' : 'reserved';
    default:
      return range;
  }
}

function embedded(hi: number, lo: number, via: string): string {
  const v4 = new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  const range = rangeOf(v4);
  return range === 'public' ? 'public' : `${range} via ${via}`;
}

function alternateForm(addr: Address): Address | undefined {
  if (addr.kind() === 'ipv4') return (addr as ipaddr.IPv4).toIPv4MappedAddress();
  const v6 = addr as ipaddr.IPv6;
  return v6.isIPv4MappedAddress() ? v6.toIPv4Address() : undefined;
}
