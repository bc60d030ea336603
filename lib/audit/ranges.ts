/**
 * Protocols, port ranges and address blocks as the exposure analysis compares them. IP protocols follow
 * the EC2 API: `-1` is all traffic, `tcp`/`6`, `udp`/`17`, `icmp`/`1` and `icmpv6`/`58` have names, and any
 * other number (0-255, IANA's protocol numbers) stands for all of that protocol. Address blocks are parsed
 * with ipaddr.js.
 */
import ipaddr from 'ipaddr.js';
import type { Family, PortRange, Protocol } from './model.js';

const NAMED: Readonly<Record<string, Protocol>> = {
  '-1': 'all', all: 'all', tcp: 'tcp', '6': 'tcp', udp: 'udp', '17': 'udp', icmp: 'icmp', '1': 'icmp', icmpv6: 'icmpv6', '58': 'icmpv6',
};

/** IANA names of protocol numbers people open in security groups, for reports. */
const PROTOCOL_NAMES: Readonly<Record<string, string>> = {
  '2': 'IGMP', '4': 'IP in IP', '41': 'IPv6 in IPv4', '47': 'GRE', '50': 'ESP', '51': 'AH', '89': 'OSPF', '112': 'VRRP', '132': 'SCTP',
};

/** The protocol an `IpProtocol` (or NACL `Protocol`) value stands for; `doubt` when it is not one AWS knows. */
export function protocolOf(value: unknown): { readonly protocol: Protocol; readonly doubt?: string } {
  const text = String(value).trim().toLowerCase();
  const named = NAMED[text];
  if (named) return { protocol: named };
  if (/^\d{1,3}$/.test(text) && Number(text) <= 255) return { protocol: `${Number(text)}` };
  return { protocol: 'all', doubt: `protocol ${JSON.stringify(value)} is no protocol name or number AWS knows; read as all traffic` };
}

/** Ports apply to TCP and UDP; every other protocol is taken whole. */
export const hasPorts = (protocol: Protocol) => protocol === 'tcp' || protocol === 'udp';

export const ALL_PORTS = { from: 0, to: 65535 } as const;

/** A port range of a rule or listener: `-1` or no value is every port; a non-number is every port, with doubt. */
export function portsOf(protocol: Protocol, from: unknown, to: unknown): { from: number; to: number; doubt?: string } {
  if (!hasPorts(protocol)) return { ...ALL_PORTS };
  const read = (v: unknown, whole: number) => (v === undefined || Number(v) === -1 ? whole : typeof v === 'number' || typeof v === 'string' ? Number(v) : NaN);
  const f = read(from, 0);
  const t = read(to, 65535);
  if (!Number.isInteger(f) || !Number.isInteger(t)) return { ...ALL_PORTS, doubt: 'the port range is known only at deploy time' };
  return { from: f, to: t };
}

/** Whether `range` takes in this protocol and port. */
export function covers(range: PortRange, protocol: Protocol, port: number): boolean {
  if (range.protocol === 'all') return true;
  return range.protocol === protocol && (!hasPorts(protocol) || (range.from <= port && port <= range.to));
}

/** What two ranges have in common, or undefined. */
export function intersect(a: PortRange, b: PortRange): PortRange | undefined {
  const protocol = a.protocol === 'all' ? b.protocol : b.protocol === 'all' || b.protocol === a.protocol ? a.protocol : undefined;
  if (protocol === undefined) return undefined;
  if (!hasPorts(protocol)) return { protocol, ...ALL_PORTS };
  const from = Math.max(hasPorts(a.protocol) ? a.from : 0, hasPorts(b.protocol) ? b.from : 0);
  const to = Math.min(hasPorts(a.protocol) ? a.to : 65535, hasPorts(b.protocol) ? b.to : 65535);
  return from <= to ? { protocol, from, to } : undefined;
}

/** Merges overlapping or adjacent ranges of the same protocol; `all` swallows the rest. */
export function mergeRanges(ranges: readonly PortRange[]): PortRange[] {
  if (ranges.some((r) => r.protocol === 'all')) return [{ protocol: 'all', ...ALL_PORTS }];
  const sorted = [...ranges].sort((a, b) => a.protocol.localeCompare(b.protocol, 'en', { numeric: true }) || a.from - b.from);
  const merged: { protocol: Protocol; from: number; to: number }[] = [];
  for (const r of sorted) {
    const last = merged[merged.length - 1];
    const whole = !hasPorts(r.protocol);
    if (last && last.protocol === r.protocol && (whole || r.from <= last.to + 1)) last.to = Math.max(last.to, r.to);
    else merged.push({ protocol: r.protocol, from: whole ? 0 : r.from, to: whole ? 65535 : r.to });
  }
  return merged;
}

function protocolLabel(protocol: Protocol): string {
  if (protocol === 'tcp' || protocol === 'udp' || protocol === 'icmp' || protocol === 'icmpv6' || protocol === 'all') return protocol;
  const name = PROTOCOL_NAMES[protocol];
  return `protocol ${protocol}${name ? ` (${name})` : ''}`;
}

/** `tcp 22, 80, 443; udp 1194; protocol 47 (GRE)` or `all traffic`. */
export function formatRanges(ranges: readonly PortRange[]): string {
  const merged = mergeRanges(ranges);
  if (merged.some((r) => r.protocol === 'all')) return 'all traffic';
  const byProtocol = new Map<Protocol, string[]>();
  for (const r of merged) byProtocol.set(r.protocol, [...(byProtocol.get(r.protocol) ?? []), r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`]);
  return [...byProtocol].map(([p, ports]) => (hasPorts(p) ? `${p} ${ports.join(', ')}` : protocolLabel(p))).join('; ');
}

type Block = [ipaddr.IPv4 | ipaddr.IPv6, number];

function parseBlock(cidr: string): Block | undefined {
  try {
    return ipaddr.parseCIDR(cidr);
  } catch {
    return undefined;
  }
}

/** IPv4 blocks whose addresses the internet cannot route to an internet gateway (RFC 6890 special purpose). */
const NOT_INTERNET_V4 = ['0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.168.0.0/16', '224.0.0.0/4', '240.0.0.0/4'].map(
  (c) => parseBlock(c)!,
);
/** IPv6 internet addresses: global unicast. */
const GLOBAL_V6 = parseBlock('2000::/3')!;

const inside = (inner: Block, outer: Block) => inner[0].kind() === outer[0].kind() && inner[1] >= outer[1] && inner[0].match(outer as [never, number]);

/** The family of an address block, or undefined when it is no valid CIDR. */
export function cidrFamily(cidr: string): Family | undefined {
  const block = parseBlock(cidr);
  return block ? (block[0].kind() === 'ipv4' ? 'ipv4' : 'ipv6') : undefined;
}

/** Whether a block holds addresses of the internet (anything beyond private, shared, loopback, link-local, multicast). */
export function holdsInternet(cidr: string): boolean {
  const block = parseBlock(cidr);
  if (!block) return false;
  if (block[0].kind() === 'ipv4') return !NOT_INTERNET_V4.some((r) => inside(block, r));
  return inside(block, GLOBAL_V6) || inside(GLOBAL_V6, block);
}

/** Whether `outer` holds every address of `inner`. */
export function cidrContains(outer: string, inner: string): boolean {
  const o = parseBlock(outer);
  const i = parseBlock(inner);
  return o !== undefined && i !== undefined && inside(i, o);
}

/** Whether a block is the whole of its family's address space (`0.0.0.0/0`, `::/0`). */
export function isEverything(cidr: string): boolean {
  return parseBlock(cidr)?.[1] === 0;
}
