/**
 * The network model the exposure analysis and our rules read: compute groups (instances and auto scaling
 * groups) with their role, public IP, routing and security groups; security group ingress rules; load
 * balancers with their listeners and the groups each listener forwards to. Built over a whole template
 * set, following values across nested stacks (see resolve.ts).
 */
import type { Stack, TemplateSet } from './load.js';
import { isFalse, isTrue, refsIn, resolvedProperties, ResourceRef } from './resolve.js';

/** The tag our templates put on every instance and auto scaling group. */
import { ROLE_TAG } from '../template.js';

export { ROLE_TAG };

export const ROLES = ['master', 'private-agent', 'public-agent', 'vpn', 'admin', 'other'] as const;
export type Role = (typeof ROLES)[number];

export const COMPUTE_TYPES = ['AWS::EC2::Instance', 'AWS::AutoScaling::AutoScalingGroup'] as const;
export type ComputeType = (typeof COMPUTE_TYPES)[number];

export type Protocol = 'tcp' | 'udp' | 'icmp' | 'all';

/** A protocol and an inclusive port range (`all` covers every port). */
export interface PortRange {
  readonly protocol: Protocol;
  readonly from: number;
  readonly to: number;
}

/** One ingress rule of a security group, wherever it is declared. */
export interface IngressRule extends PortRange {
  /** The resource that declares it: the security group itself or an `AWS::EC2::SecurityGroupIngress`. */
  readonly declaredIn: ResourceRef;
  readonly cidr?: string;
  readonly sourceGroup?: ResourceRef;
  readonly prefixList?: boolean;
}

export interface ComputeGroup {
  readonly ref: ResourceRef;
  readonly role: Role;
  /** Why it gets a public IP address, or undefined when it gets none. */
  readonly publicIp?: string;
  /** Some subnet of the group has a route to an internet gateway. */
  readonly internetRouted: boolean;
  readonly securityGroups: readonly ResourceRef[];
}

export interface Listener {
  readonly protocols: readonly Protocol[];
  readonly port: number;
  /** The compute groups this listener forwards to. */
  readonly targets: readonly ResourceRef[];
  /**
   * Targets the audit cannot tie to a compute group of the set: an IP address no instance has as a fixed
   * address, a value known only at deploy time, a Lambda or another load balancer. Whatever they are, the
   * listener reaches them.
   */
  readonly unknownTargets: readonly string[];
}

export interface LoadBalancer {
  readonly ref: ResourceRef;
  readonly kind: 'classic' | 'application' | 'network' | 'gateway';
  readonly internetFacing: boolean;
  readonly securityGroups: readonly ResourceRef[];
  readonly listeners: readonly Listener[];
}

export interface Network {
  readonly groups: readonly ComputeGroup[];
  readonly loadBalancers: readonly LoadBalancer[];
  /** Every ingress rule by the key of the security group it belongs to. */
  readonly ingress: ReadonlyMap<string, readonly IngressRule[]>;
}

export const INTERNET_CIDRS = ['0.0.0.0/0', '::/0'];

export function isInternetRule(rule: IngressRule): boolean {
  return rule.cidr !== undefined && INTERNET_CIDRS.includes(rule.cidr);
}

export function covers(range: PortRange, protocol: Protocol, port: number): boolean {
  if (range.protocol === 'all') return true;
  return range.protocol === protocol && range.from <= port && port <= range.to;
}

/** Every resource of the given types in the set. */
export function resourcesOfType(set: TemplateSet, ...types: string[]): ResourceRef[] {
  return set.stacks.flatMap((stack: Stack) =>
    Object.entries(stack.template.Resources)
      .filter(([, r]) => types.includes(r.Type))
      .map(([id]) => new ResourceRef(stack, id)),
  );
}

const prop = (ref: ResourceRef, name: string): unknown => resolvedProperties(ref)[name];
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);
const keys = (refs: readonly ResourceRef[]) => new Set(refs.map((r) => r.key));
const refersTo = (value: unknown, target: ResourceRef) => refsIn(value).some((r) => r.key === target.key);

function protocolOf(value: unknown): Protocol | undefined {
  const p = String(value).toLowerCase();
  if (p === '-1' || p === 'all') return 'all';
  if (p === 'tcp' || p === '6') return 'tcp';
  if (p === 'udp' || p === '17') return 'udp';
  if (p === 'icmp' || p === '1' || p === 'icmpv6' || p === '58') return 'icmp';
  return undefined;
}

function ingressRule(declaredIn: ResourceRef, raw: Record<string, unknown>): IngressRule | undefined {
  const protocol = protocolOf(raw['IpProtocol']);
  if (!protocol) return undefined;
  const from = protocol === 'all' || raw['FromPort'] === undefined || Number(raw['FromPort']) === -1 ? 0 : Number(raw['FromPort']);
  const to = protocol === 'all' || raw['ToPort'] === undefined || Number(raw['ToPort']) === -1 ? 65535 : Number(raw['ToPort']);
  const cidr = raw['CidrIp'] ?? raw['CidrIpv6'];
  const sourceGroup = refsIn(raw['SourceSecurityGroupId'] ?? raw['SourceSecurityGroupName'])[0];
  return {
    declaredIn,
    protocol,
    from,
    to,
    ...(typeof cidr === 'string' ? { cidr } : {}),
    ...(sourceGroup ? { sourceGroup } : {}),
    ...(raw['SourcePrefixListId'] !== undefined ? { prefixList: true } : {}),
  };
}

function collectIngress(set: TemplateSet): Map<string, IngressRule[]> {
  const ingress = new Map<string, IngressRule[]>();
  const add = (group: ResourceRef, rule: IngressRule | undefined) => {
    if (rule) ingress.set(group.key, [...(ingress.get(group.key) ?? []), rule]);
  };
  for (const sg of resourcesOfType(set, 'AWS::EC2::SecurityGroup')) {
    ingress.set(sg.key, ingress.get(sg.key) ?? []);
    for (const raw of list(prop(sg, 'SecurityGroupIngress'))) add(sg, ingressRule(sg, raw as Record<string, unknown>));
  }
  for (const standalone of resourcesOfType(set, 'AWS::EC2::SecurityGroupIngress')) {
    const group = refsIn(prop(standalone, 'GroupId') ?? prop(standalone, 'GroupName'))[0];
    if (group) add(group, ingressRule(standalone, resolvedProperties(standalone)));
  }
  return ingress;
}

/** Role from our `dcos:role` tag, else guessed from the logical ID (foreign templates). */
export function roleOf(ref: ResourceRef): Role {
  const tag = list(prop(ref, 'Tags')).find((t) => (t as Record<string, unknown>)['Key'] === ROLE_TAG) as Record<string, unknown> | undefined;
  const value = tag?.['Value'];
  if (typeof value === 'string' && (ROLES as readonly string[]).includes(value)) return value as Role;
  const id = ref.id;
  if (/public.?(slave|agent)/i.test(id)) return 'public-agent';
  if (/master/i.test(id)) return 'master';
  if (/(slave|agent)/i.test(id)) return 'private-agent';
  if (/vpn/i.test(id)) return 'vpn';
  if (/(admin|bastion|jump)/i.test(id)) return 'admin';
  return 'other';
}

/** Launch settings shared by instances, launch templates and launch configurations. */
interface Launch {
  readonly associatePublicIp: unknown;
  readonly subnets: readonly ResourceRef[];
  readonly securityGroups: readonly ResourceRef[];
  /** Attached `AWS::EC2::NetworkInterface` resources (an Elastic IP may sit on one). */
  readonly interfaces: readonly ResourceRef[];
  /** A subnet is named at all (possibly as a literal ID); without one, EC2 uses the default VPC. */
  readonly subnetGiven: boolean;
}

function launchTemplateData(spec: unknown): Record<string, unknown> {
  const s = (spec ?? {}) as Record<string, unknown>;
  const template = refsIn(s['LaunchTemplateId'] ?? s['LaunchTemplateName'])[0];
  return template ? ((prop(template, 'LaunchTemplateData') ?? {}) as Record<string, unknown>) : {};
}

/** Network interface entries, each merged with the `AWS::EC2::NetworkInterface` it attaches, if any. */
function interfacesOf(data: Record<string, unknown>, groupsKey: string): Record<string, unknown>[] {
  return (list(data['NetworkInterfaces']) as Record<string, unknown>[]).map((n) => {
    const eni = refsIn(n['NetworkInterfaceId'])[0];
    if (!eni) return n;
    const props = resolvedProperties(eni);
    return { ...n, SubnetId: props['SubnetId'], [groupsKey]: props['GroupSet'] };
  });
}

function fromInterfaces(data: Record<string, unknown>, groupsKey: string): Launch {
  const interfaces = interfacesOf(data, groupsKey);
  const primary = interfaces.find((n) => Number(n['DeviceIndex'] ?? 0) === 0);
  return {
    associatePublicIp: primary?.['AssociatePublicIpAddress'] ?? data['AssociatePublicIpAddress'],
    subnets: [...refsIn(data['SubnetId']), ...interfaces.flatMap((n) => refsIn(n['SubnetId']))],
    interfaces: interfaces.flatMap((n) => refsIn(n['NetworkInterfaceId'])),
    subnetGiven: data['SubnetId'] !== undefined || interfaces.some((n) => n['SubnetId'] !== undefined),
    securityGroups: [
      ...refsIn(data['SecurityGroupIds']),
      ...refsIn(data['SecurityGroups']),
      ...interfaces.flatMap((n) => refsIn(n[groupsKey])),
    ],
  };
}

function launchOf(group: ResourceRef): Launch {
  const props = resolvedProperties(group);
  if (group.type === 'AWS::EC2::Instance') {
    const own = fromInterfaces(props, 'GroupSet');
    const template = fromInterfaces(launchTemplateData(props['LaunchTemplate']), 'Groups');
    return {
      associatePublicIp: own.associatePublicIp ?? template.associatePublicIp,
      subnets: own.subnets.length ? own.subnets : template.subnets,
      securityGroups: [...own.securityGroups, ...template.securityGroups],
      interfaces: own.interfaces,
      subnetGiven: own.subnetGiven || template.subnetGiven,
    };
  }
  const subnets = refsIn(props['VPCZoneIdentifier']);
  const subnetGiven = props['VPCZoneIdentifier'] !== undefined;
  const configuration = refsIn(props['LaunchConfigurationName'])[0];
  if (configuration) {
    const c = resolvedProperties(configuration);
    return { associatePublicIp: c['AssociatePublicIpAddress'], subnets, securityGroups: refsIn(c['SecurityGroups']), interfaces: [], subnetGiven };
  }
  const mixed = (props['MixedInstancesPolicy'] as Record<string, Record<string, unknown>> | undefined)?.['LaunchTemplate'];
  const data = launchTemplateData(props['LaunchTemplate'] ?? mixed?.['LaunchTemplateSpecification']);
  return { ...fromInterfaces(data, 'Groups'), subnets, subnetGiven };
}

/** Subnet keys routed to an internet gateway, through their route table associations. */
function internetSubnets(set: TemplateSet): Set<string> {
  const igwTables = new Set(
    resourcesOfType(set, 'AWS::EC2::Route')
      .filter((route) => {
        const gateway = prop(route, 'GatewayId');
        return refsIn(gateway).some((g) => g.type === 'AWS::EC2::InternetGateway') || (typeof gateway === 'string' && gateway.startsWith('igw-'));
      })
      .flatMap((route) => refsIn(prop(route, 'RouteTableId')).map((t) => t.key)),
  );
  return new Set(
    resourcesOfType(set, 'AWS::EC2::SubnetRouteTableAssociation')
      .filter((a) => refsIn(prop(a, 'RouteTableId')).some((t) => igwTables.has(t.key)))
      .flatMap((a) => refsIn(prop(a, 'SubnetId')).map((s) => s.key)),
  );
}

function computeGroup(set: TemplateSet, ref: ResourceRef, routed: Set<string>): ComputeGroup {
  const launch = launchOf(ref);
  const eip = resourcesOfType(set, 'AWS::EC2::EIP', 'AWS::EC2::EIPAssociation').find(
    (e) => refersTo(prop(e, 'InstanceId'), ref) || launch.interfaces.some((eni) => refersTo(prop(e, 'NetworkInterfaceId'), eni)),
  );
  const mapping = launch.subnets.find((s) => isTrue(prop(s, 'MapPublicIpOnLaunch')));
  const defaultVpc = !launch.subnetGiven;
  const publicIp = eip
    ? `Elastic IP ${eip.id}`
    : isTrue(launch.associatePublicIp)
      ? 'AssociatePublicIpAddress: true'
      : isFalse(launch.associatePublicIp)
        ? undefined
        : mapping
          ? `subnet ${mapping.id} maps public IPs on launch`
          : defaultVpc
            ? 'no subnet given: default VPC subnets map public IPs'
            : undefined;
  return {
    ref,
    role: roleOf(ref),
    ...(publicIp ? { publicIp } : {}),
    internetRouted: defaultVpc || launch.subnets.some((s) => routed.has(s.key)),
    securityGroups: launch.securityGroups,
  };
}

function listenerProtocols(value: unknown): Protocol[] {
  const p = String(value ?? 'TCP').toUpperCase();
  return p === 'UDP' ? ['udp'] : p === 'TCP_UDP' ? ['tcp', 'udp'] : ['tcp'];
}

function classicLoadBalancer(ref: ResourceRef, groups: readonly ComputeGroup[]): LoadBalancer {
  const members = [
    ...refsIn(prop(ref, 'Instances')),
    ...groups.filter((g) => refersTo(prop(g.ref, 'LoadBalancerNames'), ref)).map((g) => g.ref),
  ];
  return {
    ref,
    kind: 'classic',
    internetFacing: prop(ref, 'Scheme') !== 'internal',
    securityGroups: refsIn(prop(ref, 'SecurityGroups')),
    listeners: list(prop(ref, 'Listeners')).map((raw) => {
      const l = raw as Record<string, unknown>;
      return { protocols: ['tcp'], port: Number(l['LoadBalancerPort']), targets: members, unknownTargets: [] };
    }),
  };
}

/** Fixed private addresses of instances (on the instance or its inline network interfaces), by address. */
function fixedAddresses(groups: readonly ComputeGroup[]): Map<string, ResourceRef> {
  const found = new Map<string, ResourceRef>();
  for (const g of groups) {
    const addresses = [prop(g.ref, 'PrivateIpAddress'), ...list(prop(g.ref, 'NetworkInterfaces')).map((n) => (n as Record<string, unknown>)['PrivateIpAddress'])];
    for (const a of addresses) if (typeof a === 'string') found.set(a, g.ref);
  }
  return found;
}

/** The compute groups a load balancer's actions forward to, and the targets it cannot identify. */
function forwarded(actions: unknown, groups: readonly ComputeGroup[]): Pick<Listener, 'targets' | 'unknownTargets'> {
  const targetGroups = list(actions).flatMap((a) => {
    const action = a as Record<string, unknown>;
    const forward = (action['ForwardConfig'] as Record<string, unknown> | undefined)?.['TargetGroups'];
    return [...refsIn(action['TargetGroupArn']), ...list(forward).flatMap((t) => refsIn((t as Record<string, unknown>)['TargetGroupArn']))];
  });
  const byAddress = fixedAddresses(groups);
  const computeKeys = new Set(groups.map((g) => g.ref.key));
  const unknownTargets: string[] = [];
  const explicit = targetGroups.flatMap((tg) =>
    list(prop(tg, 'Targets')).flatMap((t) => {
      const id = (t as Record<string, unknown>)['Id'];
      const refs = refsIn(id).filter((r) => computeKeys.has(r.key));
      if (refs.length > 0) return refs;
      const byIp = typeof id === 'string' ? byAddress.get(id) : undefined;
      if (byIp) return [byIp];
      unknownTargets.push(`${tg.id}: ${typeof id === 'string' ? id : (refsIn(id)[0]?.id ?? 'a value known only at deploy time')}`);
      return [];
    }),
  );
  const tgKeys = keys(targetGroups);
  const targets = [...explicit, ...groups.filter((g) => refsIn(prop(g.ref, 'TargetGroupARNs')).some((tg) => tgKeys.has(tg.key))).map((g) => g.ref)].filter(
    (r, i, all) => all.findIndex((o) => o.key === r.key) === i,
  );
  return { targets, unknownTargets };
}

function v2LoadBalancer(set: TemplateSet, ref: ResourceRef, groups: readonly ComputeGroup[]): LoadBalancer {
  const listeners = resourcesOfType(set, 'AWS::ElasticLoadBalancingV2::Listener').filter((l) => refersTo(prop(l, 'LoadBalancerArn'), ref));
  const rules = resourcesOfType(set, 'AWS::ElasticLoadBalancingV2::ListenerRule');
  const type = String(prop(ref, 'Type') ?? 'application');
  return {
    ref,
    kind: type === 'network' ? 'network' : type === 'gateway' ? 'gateway' : 'application',
    internetFacing: prop(ref, 'Scheme') !== 'internal',
    securityGroups: refsIn(prop(ref, 'SecurityGroups')),
    listeners: listeners.map((l) => ({
      protocols: listenerProtocols(prop(l, 'Protocol')),
      port: Number(prop(l, 'Port')),
      ...forwarded(
        [...list(prop(l, 'DefaultActions')), ...rules.filter((r) => refersTo(prop(r, 'ListenerArn'), l)).flatMap((r) => list(prop(r, 'Actions')))],
        groups,
      ),
    })),
  };
}

/** Builds the network model of a template set. */
export function analyzeNetwork(set: TemplateSet): Network {
  const routed = internetSubnets(set);
  const groups = resourcesOfType(set, ...COMPUTE_TYPES).map((ref) => computeGroup(set, ref, routed));
  const loadBalancers = [
    ...resourcesOfType(set, 'AWS::ElasticLoadBalancing::LoadBalancer').map((ref) => classicLoadBalancer(ref, groups)),
    ...resourcesOfType(set, 'AWS::ElasticLoadBalancingV2::LoadBalancer').map((ref) => v2LoadBalancer(set, ref, groups)),
  ];
  return { groups, loadBalancers, ingress: collectIngress(set) };
}

/** The ingress rules of the given security groups that admit the internet. */
export function internetIngress(network: Network, securityGroups: readonly ResourceRef[]): IngressRule[] {
  return securityGroups.flatMap((sg) => network.ingress.get(sg.key) ?? []).filter(isInternetRule);
}

/** Whether the load balancer lets the internet in on this protocol and port (security groups, or none on an NLB). */
export function admitsInternet(network: Network, lb: LoadBalancer, protocol: Protocol, port: number): boolean {
  if (!lb.internetFacing) return false;
  // Without security groups an NLB admits everyone; a classic ELB or ALB gets the VPC's default group (no internet).
  if (lb.securityGroups.length === 0) return lb.kind === 'network';
  return internetIngress(network, lb.securityGroups).some((r) => covers(r, protocol, port));
}
