/**
 * Builds the network model (model.ts) of a template set: every instance and auto scaling group with its
 * placements (each network interface in each subnet it may launch into, with public IPv4, IPv6, routing and
 * security groups), the security groups, and the load balancers. Values are followed across nested stacks
 * (resolve.ts); what the templates leave open stays open, with the reason.
 *
 * Launch settings come from the instance, its launch template, or the group's launch configuration or
 * launch template (mixed instances policies included); extra interfaces from
 * `AWS::EC2::NetworkInterfaceAttachment`; Elastic IPs from `AWS::EC2::EIP.InstanceId` and
 * `AWS::EC2::EIPAssociation` (by instance or interface). Out of scope: forwarding an instance does itself
 * (a NAT instance's port forwarding, a proxy), which no template shows.
 */
import type { TemplateSet } from './load.js';
import { buildLoadBalancers } from './load-balancers.js';
import { existence, located, Lookup, prop, records } from './lookup.js';
import {
  allOf,
  anyOf,
  COMPUTE_TYPES,
  maybe,
  no,
  ROLES,
  yes,
  type ComputeGroup,
  type ComputeType,
  type Fact,
  type NetworkModel,
  type Placement,
  type Role,
} from './model.js';
import { describeItem, identityOf, isFalse, isTrue, itemsIn, resolvedProperties, ResourceRef, Unknown, type Item } from './resolve.js';
import { SecurityGroups } from './security-groups.js';
import { defaultVpcFacts, subnetFacts, type SubnetFacts } from './subnets.js';
import { taggedRole } from '../template.js';

export { COMPUTE_TYPES, ROLES };
export type { ComputeType, NetworkModel as Network, Role };

/** Every resource of the given types in the set. */
export function resourcesOfType(set: TemplateSet, ...types: string[]): ResourceRef[] {
  return new Lookup(set).ofType(...types);
}

/** The resource of the set a model element stands for. */
export function refOf(set: TemplateSet, at: { readonly stack: string; readonly file?: string; readonly resource: string }): ResourceRef {
  // Two folders audited together (npm run audit out-a out-b) each have a MasterZone: the file tells them apart.
  return new ResourceRef(set.stacks.find((s) => s.name === at.stack && (at.file === undefined || s.file === at.file))!, at.resource);
}

/** The audit's role a `Tags` list names through our `dcos:role` tag, or undefined (none, or not a role the audit knows). */
export function roleFromTags(tags: unknown): Role | undefined {
  const value = taggedRole(Array.isArray(tags) ? records(tags) : tags);
  return value !== undefined && (ROLES as readonly string[]).includes(value) ? (value as Role) : undefined;
}

/** Role from our `dcos:role` tag, else guessed from the logical ID (foreign templates). */
export function roleOf(ref: ResourceRef): Role {
  const tagged = roleFromTags(records(prop(ref, 'Tags')));
  if (tagged) return tagged;
  const id = ref.id;
  if (/public.?(slave|agent)/i.test(id)) return 'public-agent';
  if (/master/i.test(id)) return 'master';
  if (/(slave|agent)/i.test(id)) return 'private-agent';
  if (/vpn/i.test(id)) return 'vpn';
  if (/(admin|bastion|jump)/i.test(id)) return 'admin';
  return 'other';
}

/** One network interface as launched or attached. */
interface InterfaceSpec {
  readonly name: string;
  /** Launched with the instance at this device index; undefined for one attached later. */
  readonly deviceIndex?: number;
  readonly subnets: readonly Item[];
  readonly securityGroups: readonly Item[];
  readonly associatePublicIp: unknown;
  /** `Ipv6AddressCount` and `Ipv6Addresses` values. */
  readonly ipv6: readonly unknown[];
  /** The `AWS::EC2::NetworkInterface` (or the ID of one) it is. */
  readonly eni?: Item;
  /** Why nothing about it is known (a launch template or interface the templates do not define). */
  readonly unknown?: string;
}

interface LaunchData {
  readonly data: Record<string, unknown>;
  readonly unknown?: string;
}

function launchTemplateData(lookup: Lookup, spec: unknown): LaunchData[] {
  if (spec === undefined) return [];
  const s = (spec ?? {}) as Record<string, unknown>;
  const item = itemsIn(s['LaunchTemplateId'] ?? s['LaunchTemplateName'])[0];
  const byName = typeof item === 'string' ? lookup.ofType('AWS::EC2::LaunchTemplate').find((t) => prop(t, 'LaunchTemplateName') === item) : undefined;
  const template = lookup.resourceOf(item, 'AWS::EC2::LaunchTemplate') ?? byName;
  if (!template) return [{ data: {}, unknown: `launch template ${item === undefined ? '(none named)' : describeItem(item)} is not defined in the templates` }];
  return [{ data: (prop(template, 'LaunchTemplateData') ?? {}) as Record<string, unknown> }];
}

function interfaceSpec(lookup: Lookup, raw: Record<string, unknown>, fallback: { subnets: Item[]; groups: Item[] }, name: string): InterfaceSpec {
  const deviceIndex = Number(raw['DeviceIndex'] ?? 0);
  const eni = itemsIn(raw['NetworkInterfaceId'])[0];
  const common = { deviceIndex, associatePublicIp: raw['AssociatePublicIpAddress'] };
  if (eni !== undefined) return { ...eniSpec(lookup, eni), ...common };
  const own = itemsIn(raw['SubnetId']);
  const groups = itemsIn(raw['GroupSet'] ?? raw['Groups']);
  return {
    name,
    ...common,
    subnets: own.length ? own : deviceIndex === 0 ? fallback.subnets : [],
    securityGroups: groups.length ? groups : deviceIndex === 0 ? fallback.groups : [],
    ipv6: [raw['Ipv6AddressCount'], raw['Ipv6Addresses']],
  };
}

/** An `AWS::EC2::NetworkInterface` (or one the templates only name). */
function eniSpec(lookup: Lookup, eni: Item): InterfaceSpec {
  const defined = lookup.resourceOf(eni, 'AWS::EC2::NetworkInterface');
  const name = `interface ${describeItem(eni)}`;
  if (!defined) return { name, subnets: [], securityGroups: [], associatePublicIp: undefined, ipv6: [], eni, unknown: `network interface ${describeItem(eni)} is not defined in the templates` };
  const props = resolvedProperties(defined);
  return { name, subnets: itemsIn(props['SubnetId']), securityGroups: itemsIn(props['GroupSet']), associatePublicIp: undefined, ipv6: [props['Ipv6AddressCount'], props['Ipv6Addresses']], eni };
}

function instanceSpecs(lookup: Lookup, ref: ResourceRef): { specs: InterfaceSpec[]; unknown?: string } {
  const props = resolvedProperties(ref);
  const [template] = launchTemplateData(lookup, props['LaunchTemplate']);
  const data = template?.data ?? {};
  const groups = [props['SecurityGroupIds'], props['SecurityGroups'], data['SecurityGroupIds'], data['SecurityGroups']].flatMap(itemsIn);
  const fallback = { subnets: itemsIn(props['SubnetId']), groups };
  const inline = records(props['NetworkInterfaces'] ?? data['NetworkInterfaces']);
  const launched = inline.length
    ? inline.map((n, i) => interfaceSpec(lookup, n, fallback, inline.length > 1 ? `interface ${i}` : 'primary interface'))
    : [{ name: 'primary interface', deviceIndex: 0, subnets: fallback.subnets, securityGroups: groups, associatePublicIp: undefined, ipv6: [props['Ipv6AddressCount'], props['Ipv6Addresses']] }];
  const attached = lookup
    .pointingAt('AWS::EC2::NetworkInterfaceAttachment', 'InstanceId', ref.key)
    .filter((a) => existence(a).holds !== 'no')
    .flatMap((a) => itemsIn(prop(a, 'NetworkInterfaceId')).map((eni) => eniSpec(lookup, eni)));
  return { specs: [...launched, ...attached], ...(template?.unknown ? { unknown: template.unknown } : {}) };
}

function groupSpecs(lookup: Lookup, ref: ResourceRef): { specs: InterfaceSpec[]; unknown?: string } {
  const props = resolvedProperties(ref);
  const configuration = itemsIn(props['LaunchConfigurationName'])[0];
  if (configuration !== undefined) {
    const defined = lookup.resourceOf(configuration, 'AWS::AutoScaling::LaunchConfiguration');
    if (!defined) return { specs: [], unknown: `launch configuration ${describeItem(configuration)} is not defined in the templates` };
    const c = resolvedProperties(defined);
    return { specs: [{ name: 'primary interface', deviceIndex: 0, subnets: [], securityGroups: itemsIn(c['SecurityGroups']), associatePublicIp: c['AssociatePublicIpAddress'], ipv6: [] }] };
  }
  const mixed = records((props['MixedInstancesPolicy'] as Record<string, unknown> | undefined)?.['LaunchTemplate'])[0];
  const templates = [
    ...launchTemplateData(lookup, props['LaunchTemplate'] ?? mixed?.['LaunchTemplateSpecification']),
    ...records(mixed?.['Overrides']).flatMap((o) => launchTemplateData(lookup, o['LaunchTemplateSpecification'])),
  ];
  if (templates.length === 0) return { specs: [], unknown: 'the group names no launch template or configuration' };
  const unknown = templates.find((t) => t.unknown)?.unknown;
  const specs = templates.flatMap(({ data }) => {
    const groups = [data['SecurityGroupIds'], data['SecurityGroups']].flatMap(itemsIn);
    const inline = records(data['NetworkInterfaces']);
    // The group's subnets (VPCZoneIdentifier) replace any subnet in the template.
    return inline.length
      ? inline.map((n, i) => ({ ...interfaceSpec(lookup, { ...n, SubnetId: undefined }, { subnets: [], groups }, inline.length > 1 ? `interface ${i}` : 'primary interface') }))
      : [{ name: 'primary interface', deviceIndex: 0, subnets: [], securityGroups: groups, associatePublicIp: undefined, ipv6: [] }];
  });
  return { specs, ...(unknown ? { unknown } : {}) };
}

/** Elastic IPs on the instance's primary interface or on a given interface. */
function elasticIp(lookup: Lookup, instance: ResourceRef | undefined, spec: InterfaceSpec): Fact {
  const primary = spec.deviceIndex === 0 && instance !== undefined;
  const eniId = spec.eni === undefined ? undefined : identityOf(spec.eni);
  const found = [
    ...(primary ? lookup.pointingAt('AWS::EC2::EIP', 'InstanceId', instance.key) : []),
    ...(primary ? lookup.pointingAt('AWS::EC2::EIPAssociation', 'InstanceId', instance.key) : []),
    ...lookup.pointingAt('AWS::EC2::EIPAssociation', 'NetworkInterfaceId', eniId),
  ];
  return anyOf(found.map((e) => allOf(existence(e), yes(`Elastic IP ${e.id}`))), 'no Elastic IP');
}

function ipv6Of(spec: InterfaceSpec, subnet: SubnetFacts): Fact {
  const open = spec.ipv6.find((v): v is Unknown => v instanceof Unknown);
  if (open) return maybe(`its IPv6 addresses: ${open.why}`);
  const asked = spec.ipv6.some((v) => (Array.isArray(v) ? v.length > 0 : Number(v) > 0));
  return asked ? yes(`${spec.name} has IPv6 addresses`) : spec.deviceIndex !== undefined || spec.eni ? subnet.assignsIpv6 : no('');
}

function placement(groups: SecurityGroups, spec: InterfaceSpec, subnet: SubnetFacts, launchCount: number, eip: Fact): Placement {
  const name = `${spec.name} in ${subnet.name}`;
  if (spec.unknown) {
    const open = maybe(spec.unknown);
    return { name, publicIpv4: open, internetIpv4: open, internetIpv6: open, securityGroups: [groups.open(spec.unknown)] };
  }
  const ask = spec.associatePublicIp;
  const automatic: Fact =
    spec.deviceIndex !== 0
      ? no(`${spec.name} gets no automatic public IP`)
      : isTrue(ask)
        ? yes('AssociatePublicIpAddress: true')
        : isFalse(ask)
          ? no('AssociatePublicIpAddress: false')
          : ask instanceof Unknown
            ? maybe(`AssociatePublicIpAddress: ${ask.why}`)
            : launchCount > 1
              ? no('an instance launched with several interfaces gets no automatic public IP')
              : subnet.mapsPublicIpv4;
  const publicIpv4 = anyOf([automatic, eip]);
  const securityGroups = spec.securityGroups.length ? spec.securityGroups.map((g) => groups.keyOf(g)) : [groups.defaultOf(subnet.vpc)];
  return {
    name,
    publicIpv4,
    internetIpv4: allOf(publicIpv4, subnet.routed.ipv4),
    internetIpv6: allOf(ipv6Of(spec, subnet), subnet.routed.ipv6),
    securityGroups,
    ...(subnet.acl ? { acl: subnet.acl } : {}),
  };
}

function computeGroup(lookup: Lookup, groups: SecurityGroups, ref: ResourceRef): ComputeGroup {
  const isInstance = ref.type === 'AWS::EC2::Instance';
  const { specs, unknown } = isInstance ? instanceSpecs(lookup, ref) : groupSpecs(lookup, ref);
  const groupSubnets = isInstance ? undefined : itemsIn(prop(ref, 'VPCZoneIdentifier'));
  const launchCount = specs.filter((s) => s.deviceIndex !== undefined).length;
  const all = unknown ? [...specs, { name: 'its launch settings', subnets: groupSubnets ?? [], securityGroups: [], associatePublicIp: undefined, ipv6: [], unknown }] : specs;
  const placements = all.flatMap((spec) => {
    const subnets = groupSubnets ?? spec.subnets;
    const facts = subnets.length ? subnets.map((s) => subnetFacts(lookup, s)) : [defaultVpcFacts()];
    const eip = isInstance ? elasticIp(lookup, ref, spec) : no('');
    return facts.map((f) => placement(groups, spec, f, launchCount, eip));
  });
  const registrations = isInstance ? [] : [...itemsIn(prop(ref, 'TargetGroupARNs')), ...itemsIn(prop(ref, 'LoadBalancerNames'))];
  const unknownRegistrations = registrations
    .filter((r) => !(r instanceof ResourceRef) && !(typeof r === 'string' && lookup.ofType('AWS::ElasticLoadBalancing::LoadBalancer').some((lb) => prop(lb, 'LoadBalancerName') === r)))
    .map((r) => `it registers with ${describeItem(r)}, which the templates do not define: a load balancer outside them may forward to it`);
  return { ...located(ref), type: ref.type as ComputeType, role: roleOf(ref), exists: existence(ref), placements, unknownRegistrations };
}

/** Builds the network model of a template set. */
export function analyzeNetwork(set: TemplateSet): NetworkModel {
  const lookup = new Lookup(set);
  const groups = new SecurityGroups(lookup);
  const compute = lookup
    .ofType(...COMPUTE_TYPES)
    .map((ref) => computeGroup(lookup, groups, ref))
    .filter((g) => g.exists.holds !== 'no');
  const loadBalancers = buildLoadBalancers(lookup, groups, compute);
  return { groups: compute, loadBalancers, securityGroups: groups.all() };
}
