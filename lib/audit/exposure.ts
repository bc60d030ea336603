/**
 * Exposure: for every compute group, the ports on which the internet can reach it and by which path.
 * Directly: a public IP, a subnet routed to an internet gateway and a security group open to
 * 0.0.0.0/0 or ::/0 on the port. Through a load balancer: an internet-facing ELB, ALB or NLB forwards a
 * listener to the group and admits the internet on that listener's port.
 */
import type { TemplateSet } from './load.js';
import { admitsInternet, analyzeNetwork, internetIngress, type ComputeType, type Network, type PortRange, type Protocol, type Role } from './network.js';

/** Names a resource of the set: the stack's report name, its template file and the logical ID. */
export interface ResourceLocation {
  readonly stack: string;
  readonly file: string;
  readonly resource: string;
}

/** One way in from the internet. */
export interface InternetPath extends PortRange {
  /** `direct`: to the group's own public IP; `load-balancer`: to a listener of `loadBalancer`. */
  readonly via: 'direct' | 'load-balancer';
  /** The internet-facing load balancer, for `via: 'load-balancer'`. */
  readonly loadBalancer?: ResourceLocation & { readonly type: string };
}

/** One compute group (instance or auto scaling group) and how the internet reaches it. */
export interface GroupExposure extends ResourceLocation {
  readonly type: ComputeType;
  /** From the `dcos:role` tag; guessed from the logical ID for foreign templates. */
  readonly role: Role;
  /** Every way in from the internet; empty when the group is unreachable. */
  readonly paths: readonly InternetPath[];
}

/** Merges overlapping or adjacent ranges of the same protocol; `all` swallows the rest. */
export function mergeRanges<T extends PortRange>(ranges: readonly T[]): PortRange[] {
  if (ranges.some((r) => r.protocol === 'all')) return [{ protocol: 'all', from: 0, to: 65535 }];
  const sorted = [...ranges].sort((a, b) => a.protocol.localeCompare(b.protocol) || a.from - b.from);
  const merged: { protocol: Protocol; from: number; to: number }[] = [];
  for (const r of sorted) {
    const last = merged[merged.length - 1];
    if (last && last.protocol === r.protocol && r.from <= last.to + 1) last.to = Math.max(last.to, r.to);
    else merged.push({ protocol: r.protocol, from: r.from, to: r.to });
  }
  return merged;
}

/** `tcp 22, 80, 443; udp 1194` or `all traffic`. */
export function formatRanges(ranges: readonly PortRange[]): string {
  const merged = mergeRanges(ranges);
  if (merged.some((r) => r.protocol === 'all')) return 'all traffic';
  const byProtocol = new Map<Protocol, string[]>();
  for (const r of merged) byProtocol.set(r.protocol, [...(byProtocol.get(r.protocol) ?? []), r.from === r.to ? `${r.from}` : `${r.from}-${r.to}`]);
  return [...byProtocol].map(([p, ports]) => (p === 'icmp' ? 'icmp' : `${p} ${ports.join(', ')}`)).join('; ');
}

/** The exposure of every compute group of an analysed network. */
export function exposureOf(network: Network): GroupExposure[] {
  return network.groups.map((group) => {
    const direct: InternetPath[] =
      group.publicIp && group.internetRouted
        ? mergeRanges(internetIngress(network, group.securityGroups)).map((r) => ({ via: 'direct', ...r }))
        : [];
    const throughLoadBalancers = network.loadBalancers.flatMap((lb) =>
      lb.listeners
        .filter((l) => l.targets.some((t) => t.key === group.ref.key))
        .flatMap((l) =>
          l.protocols
            .filter((p) => admitsInternet(network, lb, p, l.port))
            .map((protocol): InternetPath => ({
              via: 'load-balancer',
              protocol,
              from: l.port,
              to: l.port,
              loadBalancer: { stack: lb.ref.stack.name, file: lb.ref.stack.file, resource: lb.ref.id, type: lb.ref.type ?? '' },
            })),
        ),
    );
    return {
      stack: group.ref.stack.name,
      file: group.ref.stack.file,
      resource: group.ref.id,
      type: group.ref.type as ComputeType,
      role: group.role,
      paths: [...direct, ...throughLoadBalancers],
    };
  });
}

/** The exposure of every compute group of a template set. */
export function analyzeExposure(set: TemplateSet): GroupExposure[] {
  return exposureOf(analyzeNetwork(set));
}

/** `tcp 22, 80, 443 direct; tcp 80, 443 via ElasticLoadBalancer`, or `unreachable`. */
export function describePaths(paths: readonly InternetPath[]): string {
  if (paths.length === 0) return 'unreachable';
  const byVia = new Map<string, InternetPath[]>();
  for (const p of paths) {
    const via = p.via === 'direct' ? 'direct' : `via ${p.loadBalancer!.resource}`;
    byVia.set(via, [...(byVia.get(via) ?? []), p]);
  }
  return [...byVia].map(([via, ps]) => `${formatRanges(ps)} ${via}`).join('; ');
}
