/**
 * What the architecture picture shows, read from a template set: the VPC, its Availability Zones and
 * subnets by zone (public, master, private agents, public agents), the compute groups, load balancers,
 * NAT and internet gateways in them, and the edges between them.
 *
 * The internet's edges are the audit's exposure (`exposureOf`, the same result `npm run audit` prints),
 * so the picture cannot show a way in the audit does not list, nor miss one it does.
 */
import type { TemplateSet } from '../audit/load.js';
import { exposureOf, formatRanges, type GroupExposure } from '../audit/exposure.js';
import type { PortRange, Role } from '../audit/model.js';
import { analyzeNetwork, refOf, resourcesOfType } from '../audit/network.js';
import { refsIn, resolvedProperties, ResourceRef } from '../audit/resolve.js';

/** The zone a subnet belongs to. */
export type Tier = 'public' | 'master' | 'private-agent' | 'public-agent' | 'other';

/**
 * Tiers from the internet inwards, the order of the rows in each Availability Zone: the public subnet
 * (gateways and internet-facing load balancers), the public agents behind them, the master zone, the
 * private agents.
 */
export const TIERS: readonly Tier[] = ['public', 'public-agent', 'master', 'private-agent', 'other'];

export const TIER_LABELS: Record<Tier, string> = {
  public: 'public subnet',
  master: 'master zone',
  'private-agent': 'private agents',
  'public-agent': 'public agents',
  other: 'subnet',
};

export interface Subnet {
  /** `<stack>:<logical ID>`, unique in the set. */
  readonly key: string;
  readonly id: string;
  readonly tier: Tier;
  readonly cidr?: string;
  /** Routed to an internet gateway. */
  readonly internetRouted: boolean;
  /** Key of the NAT gateway its default route goes to. */
  readonly nat?: string;
}

export interface AvailabilityZone {
  /** `AZ 1` for `!Select [0, !GetAZs '']`, or the literal zone name. */
  readonly label: string;
  readonly subnets: readonly Subnet[];
}

export interface Vpc {
  readonly key: string;
  readonly id: string;
  readonly cidr?: string;
  readonly zones: readonly AvailabilityZone[];
}

export type NodeKind = 'compute' | 'load-balancer' | 'nat' | 'internet-gateway';

/** A box in the picture. A multi-AZ auto scaling group is one node per subnet it spans. */
export interface DiagramNode {
  /** Unique: the resource key, with `@<subnet id>` for each part of a multi-subnet group. */
  readonly key: string;
  /** The resource it draws (`Stack:LogicalId`); several nodes may share it. */
  readonly resource: string;
  readonly kind: NodeKind;
  readonly title: string;
  readonly details: readonly string[];
  readonly role?: Role;
  /** The subnet it sits in; undefined: in the VPC, across subnets (a multi-AZ load balancer). */
  readonly subnet?: string;
  readonly vpc?: string;
}

/** `ingress`: a proved way in from the internet; `possible`: one the templates do not rule out. */
export type EdgeKind = 'ingress' | 'possible' | 'forward' | 'admin' | 'egress';

export interface DiagramEdge {
  readonly from: string;
  readonly to: string;
  readonly kind: EdgeKind;
  readonly label: string;
}

export const INTERNET = 'internet';

export interface Architecture {
  readonly title: string;
  readonly vpcs: readonly Vpc[];
  readonly nodes: readonly DiagramNode[];
  readonly edges: readonly DiagramEdge[];
  /** The audit's exposure the ingress edges were drawn from. */
  readonly exposure: readonly GroupExposure[];
}

const ROLE_NAMES: Record<Role, string> = {
  master: 'DC/OS master',
  'private-agent': 'private agents',
  'public-agent': 'public agents',
  vpn: 'OpenVPN gateway',
  admin: 'admin instance (dcos CLI)',
  other: 'instance',
};

/** Code-point order (not the locale's), so the output is the same on every machine. */
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const byKey = <T extends { readonly key: string }>(a: T, b: T) => compare(a.key, b.key);
const raw = (ref: ResourceRef, name: string): unknown => ref.resource?.Properties?.[name];
const prop = (ref: ResourceRef, name: string): unknown => resolvedProperties(ref)[name];
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);
const ofType = (refs: readonly ResourceRef[], type: string) => refs.filter((r) => r.type === type);

function tierOf(ref: ResourceRef): Tier {
  const name = list(prop(ref, 'Tags')).map((t) => (t as Record<string, unknown>)['Value']).find((v) => typeof v === 'string');
  for (const text of [ref.id, typeof name === 'string' ? name : '']) {
    if (/public.?(agent|slave)/i.test(text)) return 'public-agent';
    if (/(private.?)?(agent|slave)/i.test(text)) return 'private-agent';
    if (/master/i.test(text)) return 'master';
    if (/public/i.test(text)) return 'public';
  }
  return 'other';
}

/** `{ order, label }` of a subnet's Availability Zone: `!Select [i, !GetAZs '']` is `AZ i+1`. */
function zoneOf(ref: ResourceRef): { readonly order: number; readonly label: string } {
  const az = raw(ref, 'AvailabilityZone') as Record<string, unknown> | undefined;
  const select = az?.['Fn::Select'];
  if (Array.isArray(select) && (select[1] as Record<string, unknown> | undefined)?.['Fn::GetAZs'] !== undefined) {
    const index = Number(select[0]);
    return { order: index, label: `AZ ${index + 1}` };
  }
  const resolved = prop(ref, 'AvailabilityZone');
  if (typeof resolved === 'string') return { order: 1000, label: resolved };
  return { order: 2000, label: 'AZ (chosen at deploy time)' };
}

/** Subnet keys routed to an internet gateway, and the NAT gateway of each subnet that has one. */
function routing(set: TemplateSet): { readonly internet: Set<string>; readonly nat: Map<string, string> } {
  const internet = new Set<string>();
  const nat = new Map<string, string>();
  const routes = resourcesOfType(set, 'AWS::EC2::Route');
  for (const association of resourcesOfType(set, 'AWS::EC2::SubnetRouteTableAssociation')) {
    const subnet = refsIn(prop(association, 'SubnetId'))[0];
    const table = refsIn(prop(association, 'RouteTableId'))[0];
    if (!subnet || !table) continue;
    for (const route of routes.filter((r) => refsIn(prop(r, 'RouteTableId')).some((t) => t.key === table.key))) {
      if (ofType(refsIn(prop(route, 'GatewayId')), 'AWS::EC2::InternetGateway').length) internet.add(subnet.key);
      const gateway = refsIn(prop(route, 'NatGatewayId'))[0];
      if (gateway) nat.set(subnet.key, gateway.key);
    }
  }
  return { internet, nat };
}

/** The subnets a compute group launches into (its own, its interfaces', its launch template's). */
function subnetsOfGroup(ref: ResourceRef): ResourceRef[] {
  if (ref.type === 'AWS::AutoScaling::AutoScalingGroup') return refsIn(prop(ref, 'VPCZoneIdentifier'));
  const interfaces = (value: unknown) => list(value).map((n) => n as Record<string, unknown>);
  const own = interfaces(prop(ref, 'NetworkInterfaces'));
  const launch = refsIn((prop(ref, 'LaunchTemplate') as Record<string, unknown> | undefined)?.['LaunchTemplateId'])[0];
  const data = (launch ? prop(launch, 'LaunchTemplateData') : undefined) as Record<string, unknown> | undefined;
  return [
    ...refsIn(prop(ref, 'SubnetId')),
    ...own.flatMap((n) => refsIn(n['SubnetId'])),
    ...own.flatMap((n) => refsIn(n['NetworkInterfaceId'])).flatMap((eni) => refsIn(prop(eni, 'SubnetId'))),
    ...interfaces(data?.['NetworkInterfaces']).flatMap((n) => refsIn(n['SubnetId'])),
  ];
}

function instanceTypeOf(ref: ResourceRef): string | undefined {
  const own = prop(ref, 'InstanceType');
  if (typeof own === 'string') return own;
  const spec = (prop(ref, 'LaunchTemplate') ??
    ((prop(ref, 'MixedInstancesPolicy') as Record<string, Record<string, unknown>> | undefined)?.['LaunchTemplate']?.['LaunchTemplateSpecification'])) as
    | Record<string, unknown>
    | undefined;
  const launch = refsIn(spec?.['LaunchTemplateId'])[0];
  const type = launch ? (prop(launch, 'LaunchTemplateData') as Record<string, unknown> | undefined)?.['InstanceType'] : undefined;
  return typeof type === 'string' ? type : undefined;
}

function groupDetails(ref: ResourceRef, role: Role, subnetCount: number): string[] {
  const type = instanceTypeOf(ref);
  if (ref.type !== 'AWS::AutoScaling::AutoScalingGroup') return [`${ROLE_NAMES[role]} · EC2 ${type ?? 'instance'}`];
  const [min, max, desired] = ['MinSize', 'MaxSize', 'DesiredCapacity'].map((p) => prop(ref, p));
  const count = min === max ? `${String(min)}` : `${String(min)}-${String(max)}`;
  const size = `${desired !== undefined && min !== max ? `${String(desired)} (${count})` : count} × ${type ?? 'EC2'}`;
  return [`${ROLE_NAMES[role]}: ${size}`, subnetCount > 1 ? `auto scaling group over ${subnetCount} subnets` : 'auto scaling group'];
}

const dedupe = (refs: readonly ResourceRef[]) => refs.filter((r, i) => refs.findIndex((o) => o.key === r.key) === i);

/** Reads the architecture of a template set, with the internet's edges from the audit's exposure. */
export function describeArchitecture(set: TemplateSet, title: string): Architecture {
  const network = analyzeNetwork(set);
  const exposure = exposureOf(network);
  const { internet, nat } = routing(set);

  const subnetRefs = resourcesOfType(set, 'AWS::EC2::Subnet');
  const vpcs: Vpc[] = resourcesOfType(set, 'AWS::EC2::VPC').map((vpc) => {
    const zones = new Map<string, { order: number; subnets: Subnet[] }>();
    for (const ref of subnetRefs.filter((s) => refsIn(prop(s, 'VpcId')).some((v) => v.key === vpc.key))) {
      const zone = zoneOf(ref);
      const cidr = prop(ref, 'CidrBlock');
      const gateway = nat.get(ref.key);
      const subnet: Subnet = {
        key: ref.key,
        id: ref.id,
        tier: tierOf(ref),
        ...(typeof cidr === 'string' ? { cidr } : {}),
        internetRouted: internet.has(ref.key),
        ...(gateway ? { nat: gateway } : {}),
      };
      zones.set(zone.label, { order: zone.order, subnets: [...(zones.get(zone.label)?.subnets ?? []), subnet] });
    }
    const cidr = prop(vpc, 'CidrBlock');
    return {
      key: vpc.key,
      id: vpc.id,
      ...(typeof cidr === 'string' ? { cidr } : {}),
      zones: [...zones]
        .sort(([a, x], [b, y]) => x.order - y.order || compare(a, b))
        .map(([label, z]) => ({ label, subnets: z.subnets.sort((a, b) => TIERS.indexOf(a.tier) - TIERS.indexOf(b.tier) || byKey(a, b)) })),
    };
  });
  const subnetKeys = new Set(vpcs.flatMap((v) => v.zones.flatMap((z) => z.subnets.map((s) => s.key))));
  const vpcOfSubnet = new Map(vpcs.flatMap((v) => v.zones.flatMap((z) => z.subnets.map((s) => [s.key, v.key] as const))));

  const nodes: DiagramNode[] = [];
  const edges: DiagramEdge[] = [];
  /** Node keys by resource key (a multi-subnet group has several). */
  const nodesOf = new Map<string, string[]>();
  const place = (ref: ResourceRef, kind: NodeKind, title: string, details: string[], subnets: readonly ResourceRef[], role?: Role, spread = true) => {
    const inVpc = dedupe(subnets).filter((s) => subnetKeys.has(s.key));
    const where: (string | undefined)[] = inVpc.length === 0 ? [undefined] : spread || inVpc.length === 1 ? inVpc.map((s) => s.key) : [undefined];
    const keys = where.map((subnet) => (where.length > 1 ? `${ref.key}@${subnet}` : ref.key));
    where.forEach((subnet, i) =>
      nodes.push({
        key: keys[i]!,
        resource: ref.key,
        kind,
        title,
        details,
        ...(role ? { role } : {}),
        ...(subnet ? { subnet, vpc: vpcOfSubnet.get(subnet)! } : inVpc[0] ? { vpc: vpcOfSubnet.get(inVpc[0].key)! } : {}),
      }),
    );
    nodesOf.set(ref.key, keys);
  };

  for (const group of network.groups) {
    const ref = refOf(set, group);
    const subnets = dedupe(subnetsOfGroup(ref));
    place(ref, 'compute', ref.id, groupDetails(ref, group.role, subnets.length), subnets, group.role);
  }
  for (const lb of network.loadBalancers) {
    const ref = refOf(set, lb);
    const subnets = [...refsIn(prop(ref, 'Subnets')), ...list(prop(ref, 'SubnetMappings')).flatMap((m) => refsIn((m as Record<string, unknown>)['SubnetId']))];
    const kind = { classic: 'classic load balancer', application: 'ALB', network: 'NLB', gateway: 'gateway LB' }[lb.kind];
    const ports = lb.listeners.map((l) => (l.from === l.to ? `${l.from}` : `${l.from}-${l.to}`)).sort((a, b) => parseInt(a) - parseInt(b));
    const spread = dedupe(subnets).length > 1 ? `, in ${dedupe(subnets).length} subnets` : '';
    const facing = { yes: 'internet-facing', maybe: 'maybe internet-facing', no: 'internal' }[lb.internetFacing.holds];
    place(ref, 'load-balancer', ref.id, [`${facing} ${kind}${spread}`, `listeners ${ports.join(', ')}`], subnets, undefined, false);
  }
  for (const gateway of resourcesOfType(set, 'AWS::EC2::NatGateway')) {
    place(gateway, 'nat', gateway.id, ['NAT gateway: outbound only'], refsIn(prop(gateway, 'SubnetId')));
  }
  for (const gateway of resourcesOfType(set, 'AWS::EC2::InternetGateway')) {
    const attachment = resourcesOfType(set, 'AWS::EC2::VPCGatewayAttachment').find((a) => refsIn(prop(a, 'InternetGatewayId')).some((g) => g.key === gateway.key));
    const vpc = attachment ? refsIn(prop(attachment, 'VpcId'))[0] : undefined;
    nodes.push({ key: gateway.key, resource: gateway.key, kind: 'internet-gateway', title: gateway.id, details: ['internet gateway'], ...(vpc ? { vpc: vpc.key } : {}) });
    nodesOf.set(gateway.key, [gateway.key]);
  }

  // Ingress: exactly the audit's exposure, proved paths in one edge kind and possible ones in another. A
  // path through a load balancer is internet → LB (the listener's port); a direct path, or one through a
  // load balancer outside the templates, is internet → group.
  const ingress = new Map<string, PortRange[]>();
  const add = (map: Map<string, PortRange[]>, key: string, range: PortRange) => map.set(key, [...(map.get(key) ?? []), range]);
  for (const group of exposure) {
    for (const path of group.paths) {
      const to = path.loadBalancer ? `${path.loadBalancer.stack}:${path.loadBalancer.resource}` : `${group.stack}:${group.resource}`;
      add(ingress, `${path.certainty}\n${to}`, path);
    }
  }
  for (const [key, ranges] of ingress) {
    const [certainty, resource] = key.split('\n') as [string, string];
    const kind = certainty === 'proved' ? 'ingress' : 'possible';
    for (const to of nodesOf.get(resource) ?? [resource]) edges.push({ from: INTERNET, to, kind, label: `${kind === 'possible' ? 'may be: ' : ''}${formatRanges(ranges)}` });
  }

  // Load balancers forward to their targets (internal ones too).
  for (const lb of network.loadBalancers) {
    const targets = new Map<string, PortRange[]>();
    for (const l of lb.listeners) for (const t of l.targets) for (const p of l.protocols) targets.set(t.group, [...(targets.get(t.group) ?? []), { protocol: p, from: l.from, to: l.to }]);
    for (const [target, ranges] of targets) {
      for (const from of nodesOf.get(lb.key) ?? []) for (const to of nodesOf.get(target) ?? []) edges.push({ from, to, kind: 'forward', label: formatRanges(ranges) });
    }
  }

  // Admin access: what the VPN gateway's security groups are admitted to (security group references).
  // Every such box gets a "from the VPN" line; edges go only to where an admin is meant to go (load
  // balancers and the admin instance), which keeps a 3-AZ picture readable.
  const vpnGroups = network.groups.filter((g) => g.role === 'vpn');
  const groupsOf = (g: (typeof vpnGroups)[number]) => [...new Set(g.placements.flatMap((p) => p.securityGroups))];
  const vpnSgs = new Set(vpnGroups.flatMap(groupsOf));
  const admitted = (sgs: readonly string[]) =>
    sgs.flatMap((sg) => network.securityGroups.get(sg)?.rules ?? []).filter((r) => r.source.kind === 'group' && vpnSgs.has(r.source.group));
  const reachable = [
    ...network.groups.filter((g) => g.role !== 'vpn').map((g) => ({ key: g.key, rules: admitted(groupsOf(g)), drawn: g.role === 'admin' })),
    ...network.loadBalancers.map((lb) => ({ key: lb.key, rules: admitted(lb.securityGroups), drawn: true })),
  ].filter((r) => r.rules.length > 0);
  for (const { key, rules, drawn } of reachable) {
    for (const nodeKey of nodesOf.get(key) ?? []) {
      const i = nodes.findIndex((n) => n.key === nodeKey);
      nodes[i] = { ...nodes[i]!, details: [...nodes[i]!.details, `from the VPN: ${formatRanges(rules)}`] };
      if (!drawn) continue;
      for (const vpn of vpnGroups) edges.push({ from: nodesOf.get(vpn.key)![0]!, to: nodeKey, kind: 'admin', label: formatRanges(rules) });
    }
  }

  // Egress: each NAT gateway out through its VPC's internet gateway.
  for (const node of nodes.filter((n) => n.kind === 'nat')) {
    const gateway = nodes.find((n) => n.kind === 'internet-gateway' && n.vpc === node.vpc);
    edges.push({ from: node.key, to: gateway?.key ?? INTERNET, kind: 'egress', label: 'outbound' });
  }

  return { title, vpcs, nodes: nodes.sort(byKey), edges: edges.sort((a, b) => compare(`${a.kind} ${a.from} ${a.to}`, `${b.kind} ${b.from} ${b.to}`)), exposure };
}
