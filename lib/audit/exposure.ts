/**
 * Exposure: for every compute group, the ports on which the internet reaches it, each proved or possible.
 * A pure function of the network model (model.ts), so a model read from deployed state works the same.
 *
 * - **Directly**: a placement with a public IPv4 address in a subnet routed to an internet gateway (or an
 *   IPv6 address routed the same way), whose security groups admit internet addresses of that family on the
 *   port, and whose network ACL lets them through.
 * - **Through a load balancer**: an internet-facing load balancer in routed subnets whose security groups
 *   admit the internet on a listener's port (an NLB without security groups admits everyone), forwarding to
 *   the group, whose security groups admit the load balancer (its group, or its addresses; the client's
 *   address when an NLB preserves it).
 *
 * Every link of a path is a three-valued fact. A path all of whose links are proved is `proved`; a path with
 * an open link is `possible`, with the reasons; a path with a link proved false does not exist. A port with
 * no path is proved unreachable. Possible counts as reachable for the role rules: unknown is never safe.
 */
import type { TemplateSet } from './load.js';
import {
  allOf,
  anyOf,
  maybe,
  no,
  yes,
  type ComputeGroup,
  type ComputeType,
  type Fact,
  type Family,
  type LoadBalancer,
  type NetworkAcl,
  type NetworkModel,
  type PortRange,
  type Role,
  type Source,
  type Target,
} from './model.js';
import { analyzeNetwork } from './network.js';
import { cidrContains, cidrFamily, formatRanges, hasPorts, holdsInternet, intersect, isEverything, mergeRanges } from './ranges.js';

export { formatRanges, mergeRanges };

/** Names a resource of the set: the stack's report name, its template file and the logical ID. */
export interface ResourceLocation {
  readonly stack: string;
  readonly file: string;
  readonly resource: string;
}

/** `proved`: every link holds; `possible`: some link is not pinned down (see `reason`). */
export type Certainty = 'proved' | 'possible';

/** One way in from the internet. */
export interface InternetPath extends PortRange {
  /** `direct`: to the group's own address; `load-balancer`: through a listener of `loadBalancer`. */
  readonly via: 'direct' | 'load-balancer';
  readonly certainty: Certainty;
  /** For a possible path: what the inputs leave open. */
  readonly reason?: string;
  /** The load balancer, for `via: 'load-balancer'`; absent for one outside the templates. */
  readonly loadBalancer?: ResourceLocation & { readonly type: string };
}

/** One compute group (instance or auto scaling group) and how the internet reaches it. */
export interface GroupExposure extends ResourceLocation {
  readonly type: ComputeType;
  /** From the `dcos:role` tag; guessed from the logical ID for foreign templates. */
  readonly role: Role;
  /** `yes`: some path is proved; `maybe`: only possible paths; `no`: proved unreachable on every port. */
  readonly reachable: 'yes' | 'maybe' | 'no';
  /** Every way in; empty when the group is proved unreachable. */
  readonly paths: readonly InternetPath[];
}

interface Admitted extends PortRange {
  readonly fact: Fact;
}

const BOTH: readonly Family[] = ['ipv4', 'ipv6'];

/** Whether a rule's source holds internet addresses of these families. */
export function fromInternet(source: Source, families: readonly Family[]): Fact {
  switch (source.kind) {
    case 'cidr': {
      const family = cidrFamily(source.cidr);
      if (!family) return maybe(`${source.cidr} is no valid address block`);
      return families.includes(family) && holdsInternet(source.cidr) ? yes(`admits ${source.cidr}`) : no('');
    }
    case 'group':
      return no('');
    case 'prefix-list':
      return source.cidrs
        ? anyOf(source.cidrs.map((cidr) => fromInternet({ kind: 'cidr', cidr }, families)))
        : maybe(`prefix list ${source.name} is not defined in the templates: its entries are not known`);
    case 'unknown':
      return maybe(source.why);
  }
}

/** The ranges the security groups admit from sources for which `admits` holds or may hold. */
function admitted(model: NetworkModel, keys: readonly string[], admits: (source: Source) => Fact): Admitted[] {
  return [...new Set(keys)].flatMap((key) => {
    const group = model.securityGroups.get(key);
    if (!group) return [{ protocol: 'all', from: 0, to: 65535, fact: maybe(`security group ${key} is not known`) }];
    const open: Admitted[] = group.unknown ? [{ protocol: 'all', from: 0, to: 65535, fact: maybe(group.unknown) }] : [];
    const rules = group.rules.map((r): Admitted => ({ ...r, fact: allOf(r.exists, admits(r.source), r.doubt ? maybe(r.doubt) : yes('')) }));
    return [...open, ...rules].filter((a) => a.fact.holds !== 'no');
  });
}

/** The part of a range a network ACL lets in from the internet (stateless; the first matching entry decides). */
function throughAcl(acl: NetworkAcl | undefined, family: Family, range: PortRange): Admitted[] {
  if (!acl) return [{ ...range, fact: yes('') }];
  if (acl.unknown) return [{ ...range, fact: maybe(acl.unknown) }];
  let open: { range: PortRange; taint?: string }[] = [{ range }];
  const out: Admitted[] = [];
  for (const entry of acl.entries) {
    const internet = entry.cidr === undefined ? 'maybe' : cidrFamily(entry.cidr) !== family || !holdsInternet(entry.cidr) ? 'none' : isEverything(entry.cidr) ? 'all' : 'some';
    if (internet === 'none') continue;
    const next: typeof open = [];
    for (const o of open) {
      const common = intersect(o.range, entry);
      if (!common) {
        next.push(o);
        continue;
      }
      if (entry.allow) {
        const reasons = [internet === 'maybe' ? `network ACL ${acl.name} entry ${entry.number} admits a block known only at deploy time` : undefined, o.taint];
        const open2 = reasons.filter((r): r is string => r !== undefined);
        out.push({ ...common, fact: open2.length ? maybe(open2.join('; ')) : yes(`network ACL ${acl.name} entry ${entry.number} allows it`) });
      }
      // What the entry decided is gone for everyone (or, for part of the internet, stays for the rest).
      if (!entry.allow && internet !== 'all') {
        next.push(o);
        continue;
      }
      next.push(...subtract(o.range, common).map((r) => ({ range: r.range, ...(r.exact && !o.taint ? {} : { taint: o.taint ?? `network ACL ${acl.name} entry ${entry.number} decides part of it` }) })));
    }
    open = next;
  }
  return out;
}

/** `range` without `part`; `exact: false` when what remains cannot be written as ranges (all traffic minus one protocol). */
function subtract(range: PortRange, part: PortRange): { range: PortRange; exact: boolean }[] {
  if (range.protocol !== part.protocol) return [{ range, exact: false }];
  if (!hasPorts(range.protocol)) return [];
  const parts: PortRange[] = [];
  if (range.from < part.from) parts.push({ protocol: range.protocol, from: range.from, to: part.from - 1 });
  if (part.to < range.to) parts.push({ protocol: range.protocol, from: part.to + 1, to: range.to });
  return parts.map((r) => ({ range: r, exact: true }));
}

interface RawPath extends PortRange {
  readonly via: InternetPath['via'];
  readonly fact: Fact;
  readonly loadBalancer?: LoadBalancer;
}

function directPaths(model: NetworkModel, group: ComputeGroup): RawPath[] {
  return group.placements.flatMap((p) =>
    BOTH.flatMap((family) => {
      const reach = allOf(group.exists, family === 'ipv4' ? p.internetIpv4 : p.internetIpv6);
      if (reach.holds === 'no') return [];
      return admitted(model, p.securityGroups, (s) => fromInternet(s, [family])).flatMap((a) =>
        throughAcl(p.acl, family, a).map((b): RawPath => ({ via: 'direct', protocol: b.protocol, from: b.from, to: b.to, fact: allOf(reach, a.fact, b.fact) })),
      );
    }),
  );
}

/** Whether a target's security groups let the load balancer's traffic in on this range. */
function targetAdmits(model: NetworkModel, group: ComputeGroup, lb: LoadBalancer, target: Target, range: PortRange): Fact {
  const lbGroups = new Set(lb.securityGroups);
  const fromAddresses = (cidr: string): Fact => {
    if (isEverything(cidr)) return yes(`admits ${cidr}`);
    if (lb.vpcCidrs.some((v) => cidrContains(cidr, v))) return yes(`admits ${cidr}, which holds the load balancer's addresses`);
    if (lb.vpcCidrs.length && !lb.vpcCidrs.some((v) => cidrContains(v, cidr) || cidrContains(cidr, v))) return no('');
    return maybe(`admits ${cidr}, which may hold the load balancer's addresses`);
  };
  const admits = (source: Source): Fact => {
    if (source.kind === 'group') return lbGroups.has(source.group) ? yes(`admits ${lb.resource}'s security group`) : no('');
    if (target.preserveClientIp) return fromInternet(source, BOTH);
    if (source.kind === 'cidr') return fromAddresses(source.cidr);
    if (source.kind === 'prefix-list' && source.cidrs) return anyOf(source.cidrs.map(fromAddresses));
    return fromInternet(source, BOTH);
  };
  const keys = group.placements.flatMap((p) => p.securityGroups);
  const port = target.port === undefined ? range : { protocol: range.protocol, from: target.port, to: target.port };
  const facts = admitted(model, keys, admits).filter((a) => intersect(a, port)).map((a) => a.fact);
  return anyOf(facts, `the security groups of ${group.resource} do not admit ${lb.resource} on ${formatRanges([port])}`);
}

function loadBalancerPaths(model: NetworkModel, group: ComputeGroup): RawPath[] {
  return model.loadBalancers.flatMap((lb) => {
    const base = allOf(group.exists, lb.exists, lb.internetFacing, lb.routed);
    if (base.holds === 'no') return [];
    return lb.listeners.flatMap((listener) =>
      listener.targets
        .filter((t) => t.group === group.key)
        .flatMap((target) =>
          listener.protocols.flatMap((protocol) => {
            const range: PortRange = { protocol, from: listener.from, to: listener.to };
            const gates: Admitted[] = lb.securityGroups.length
              ? admitted(model, lb.securityGroups, (s) => fromInternet(s, BOTH)).flatMap((a) => {
                  const common = intersect(a, range);
                  return common ? [{ ...common, fact: a.fact }] : [];
                })
              : lb.kind === 'network'
                ? [{ ...range, fact: yes(`${lb.resource} has no security group, so it admits everyone`) }]
                : [];
            return gates.map((gate): RawPath => {
              const fact = allOf(base, listener.doubt ? maybe(listener.doubt) : yes(''), gate.fact, targetAdmits(model, group, lb, target, gate));
              return { via: 'load-balancer', protocol: gate.protocol, from: gate.from, to: gate.to, fact, loadBalancer: lb };
            });
          }),
        ),
    );
  });
}

/** A group registered with a target group or load balancer the inputs do not define may be reached on whatever its groups admit. */
function unknownRegistrationPaths(model: NetworkModel, group: ComputeGroup): RawPath[] {
  const keys = group.placements.flatMap((p) => p.securityGroups);
  return group.unknownRegistrations.flatMap((why) =>
    admitted(model, keys, () => yes('')).map((a): RawPath => ({ via: 'load-balancer', protocol: a.protocol, from: a.from, to: a.to, fact: allOf(group.exists, maybe(why)) })),
  );
}

const locationOf = (lb: LoadBalancer) => ({ stack: lb.stack, file: lb.file, resource: lb.resource, type: lb.type });

/** Raw paths merged per way in and certainty; possible ranges a proved path of the same way covers are dropped. */
function mergePaths(raw: readonly RawPath[]): InternetPath[] {
  const live = raw.filter((p) => p.fact.holds !== 'no');
  const groups = new Map<string, { via: InternetPath['via']; lb?: LoadBalancer; certainty: Certainty; reason?: string; ranges: PortRange[] }>();
  for (const p of live) {
    const certainty: Certainty = p.fact.holds === 'yes' ? 'proved' : 'possible';
    const key = `${p.via} ${p.loadBalancer?.key ?? ''} ${certainty} ${certainty === 'possible' ? p.fact.why : ''}`;
    const entry = groups.get(key) ?? { via: p.via, ...(p.loadBalancer ? { lb: p.loadBalancer } : {}), certainty, ...(certainty === 'possible' ? { reason: p.fact.why } : {}), ranges: [] };
    entry.ranges.push(p);
    groups.set(key, entry);
  }
  const out: InternetPath[] = [];
  for (const g of groups.values()) {
    const proved = [...groups.values()].filter((o) => o.certainty === 'proved' && o.via === g.via && o.lb?.key === g.lb?.key).flatMap((o) => mergeRanges(o.ranges));
    for (const r of mergeRanges(g.ranges)) {
      if (g.certainty === 'possible' && proved.some((p) => (p.protocol === 'all' || p.protocol === r.protocol) && p.from <= r.from && r.to <= p.to)) continue;
      out.push({ via: g.via, protocol: r.protocol, from: r.from, to: r.to, certainty: g.certainty, ...(g.reason ? { reason: g.reason } : {}), ...(g.lb ? { loadBalancer: locationOf(g.lb) } : {}) });
    }
  }
  return out;
}

/** The exposure of every compute group of a network model. */
export function exposureOf(model: NetworkModel): GroupExposure[] {
  return model.groups.map((group) => {
    const paths = mergePaths([...directPaths(model, group), ...loadBalancerPaths(model, group), ...unknownRegistrationPaths(model, group)]);
    const reachable = paths.some((p) => p.certainty === 'proved') ? 'yes' : paths.length ? 'maybe' : 'no';
    return { stack: group.stack, file: group.file, resource: group.resource, type: group.type, role: group.role, reachable, paths };
  });
}

/** The exposure of every compute group of a template set. */
export function analyzeExposure(set: TemplateSet): GroupExposure[] {
  return exposureOf(analyzeNetwork(set));
}

const viaLabel = (p: InternetPath) => (p.via === 'direct' ? 'direct' : p.loadBalancer ? `via ${p.loadBalancer.resource}` : 'via a load balancer outside the templates');

/**
 * `tcp 22, 80, 443 direct; tcp 80, 443 via ElasticLoadBalancer`, then the possible paths
 * (`may be: udp 53 direct (why)`), or `unreachable`.
 */
export function describePaths(paths: readonly InternetPath[]): string {
  if (paths.length === 0) return 'unreachable';
  const parts = new Map<string, InternetPath[]>();
  for (const p of [...paths].sort((a, b) => (a.certainty === b.certainty ? 0 : a.certainty === 'proved' ? -1 : 1))) {
    const key = p.certainty === 'proved' ? viaLabel(p) : `${viaLabel(p)}\n${p.reason ?? ''}`;
    parts.set(key, [...(parts.get(key) ?? []), p]);
  }
  return [...parts]
    .map(([key, ps]) => {
      const [via, reason] = key.split('\n');
      return reason === undefined ? `${formatRanges(ps)} ${via}` : `may be: ${formatRanges(ps)} ${via} (${reason})`;
    })
    .join('; ');
}
