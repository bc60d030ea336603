/** IPv4 CIDR arithmetic for subnet layouts and fixed master addresses. Pure functions. */

export interface Cidr {
  /** Network address as an unsigned 32-bit number. */
  readonly base: number;
  readonly prefix: number;
}

/** Canonical notation only: no leading zeros (`010` would read as octal in some tools and is refused by EC2). */
const CIDR_PATTERN = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\/(0|[1-9]\d?)$/;

/** Why `text` is no canonical IPv4 CIDR block, with the block meant where one can be read; undefined when it is one. */
export function cidrProblem(text: string): string | undefined {
  const loose = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(text);
  if (!loose) return 'an IPv4 CIDR block like 10.0.0.0/16';
  const octets = loose.slice(1, 5).map(Number);
  const prefix = Number(loose[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return 'an IPv4 CIDR block like 10.0.0.0/16 (octets up to 255, prefix up to /32)';
  const base = octets.reduce((acc, o) => acc * 256 + o, 0);
  const network = formatCidr({ base: base - (base % 2 ** (32 - prefix)), prefix });
  if (!CIDR_PATTERN.test(text)) return `a CIDR block in canonical notation, without leading zeros (${network})`;
  if (base % 2 ** (32 - prefix) !== 0) return `a CIDR block with the host bits zero (${network})`;
  return undefined;
}

/** Parses `a.b.c.d/n` in canonical notation; undefined when malformed, with leading zeros, or with host bits set. */
export function parseCidr(text: string): Cidr | undefined {
  if (cidrProblem(text) !== undefined) return undefined;
  const m = CIDR_PATTERN.exec(text)!;
  return { base: m.slice(1, 5).map(Number).reduce((acc, o) => acc * 256 + o, 0), prefix: Number(m[5]) };
}

/** Addresses AWS reserves in every subnet: the network address, the VPC router, DNS, future use, broadcast. */
export const AWS_RESERVED_ADDRESSES = 5;

/** The smallest subnet prefix that holds `addresses` usable addresses (at most /16, AWS's largest subnet). */
export function prefixFor(addresses: number): number {
  let prefix = 28;
  while (prefix > 16 && 2 ** (32 - prefix) - AWS_RESERVED_ADDRESSES < addresses) prefix--;
  return prefix;
}

export function formatIp(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.base)}/${c.prefix}`;
}

export function size(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

/** True when `inner` lies wholly inside `outer`. */
export function contains(outer: Cidr, inner: Cidr): boolean {
  return inner.base >= outer.base && inner.base + size(inner) <= outer.base + size(outer);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return a.base < b.base + size(b) && b.base < a.base + size(a);
}

/** The `index`-th block of size `/newPrefix` inside `parent` (like Terraform's `cidrsubnet`). */
export function subnet(parent: string, newPrefix: number, index: number): string {
  const p = parseCidr(parent);
  if (!p || newPrefix < p.prefix || index >= 2 ** (newPrefix - p.prefix)) {
    throw new RangeError(`cannot take block ${index} of /${newPrefix} from ${parent}`);
  }
  return formatCidr({ base: p.base + index * 2 ** (32 - newPrefix), prefix: newPrefix });
}

/** The `offset`-th address of a block (`hostAddress('10.0.8.0/24', 10)` = `10.0.8.10`). */
export function hostAddress(block: string, offset: number): string {
  const c = parseCidr(block);
  if (!c || offset >= size(c)) throw new RangeError(`no address ${offset} in ${block}`);
  return formatIp(c.base + offset);
}

/** The network address and netmask, as OpenVPN's `route` and `server` directives want them. */
export function networkAndMask(block: string): [string, string] {
  const c = parseCidr(block);
  if (!c) throw new RangeError(`not a CIDR: ${block}`);
  return [formatIp(c.base), formatIp(2 ** 32 - size(c))];
}
