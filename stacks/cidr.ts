/** IPv4 CIDR arithmetic for subnet layouts and fixed master addresses. Pure functions. */

export interface Cidr {
  /** Network address as an unsigned 32-bit number. */
  readonly base: number;
  readonly prefix: number;
}

const CIDR_PATTERN = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** Parses `a.b.c.d/n`; undefined when malformed. Host bits must be zero (`10.0.0.1/16` is rejected). */
export function parseCidr(text: string): Cidr | undefined {
  const m = CIDR_PATTERN.exec(text);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255) || prefix > 32) return undefined;
  const base = octets.reduce((acc, o) => acc * 256 + o, 0);
  if (base % 2 ** (32 - prefix) !== 0) return undefined;
  return { base, prefix };
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
