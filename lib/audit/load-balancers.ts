/**
 * Load balancers of a template set as the network model holds them: classic ELBs (listeners to member
 * instances and groups), ALBs and NLBs (listeners and listener rules forwarding to target groups), with
 * scheme, subnets, security groups and the port each target is reached on. A target the templates do not
 * tie to a compute group (an address no instance has, a Lambda, a target group they do not define) is kept
 * as an unknown target.
 */
import { existence, located, prop, records, type Lookup } from './lookup.js';
import { anyOf, maybe, no, yes, type ComputeGroup, type Fact, type Listener, type LoadBalancer, type Target } from './model.js';
import { portsOf } from './ranges.js';
import { describeItem, itemsIn, resolvedProperties, ResourceRef, Unknown, type Item } from './resolve.js';
import type { SecurityGroups } from './security-groups.js';
import { subnetFacts } from './subnets.js';

function scheme(value: unknown): Fact {
  if (value instanceof Unknown) return maybe(`Scheme: ${value.why}`);
  return value === 'internal' ? no('Scheme: internal') : yes(`Scheme: ${value === undefined ? 'internet-facing (the default)' : String(value)}`);
}

function listenerPort(value: unknown): Pick<Listener, 'from' | 'to' | 'doubt'> {
  const { from, to, doubt } = portsOf('tcp', value, value);
  return value === undefined ? { from: 0, to: 65535, doubt: 'the listener port is not given' } : { from, to, ...(doubt ? { doubt: 'the listener port is known only at deploy time' } : {}) };
}

interface Placed {
  readonly routed: Fact;
  readonly vpc?: Item;
  readonly vpcCidrs: string[];
}

function placed(lookup: Lookup, subnets: readonly Item[]): Placed {
  if (subnets.length === 0) return { routed: maybe('no subnets are given, so it is in the default VPC, whose state is not in the templates'), vpcCidrs: [] };
  const facts = subnets.map((s) => subnetFacts(lookup, s));
  const vpc = facts.find((f) => f.vpc !== undefined)?.vpc;
  const vpcRef = lookup.resourceOf(vpc, 'AWS::EC2::VPC');
  const cidr = vpcRef ? prop(vpcRef, 'CidrBlock') : undefined;
  return { routed: anyOf(facts.map((f) => f.routed.ipv4)), ...(vpc !== undefined ? { vpc } : {}), vpcCidrs: typeof cidr === 'string' ? [cidr] : [] };
}

function securityGroupsOf(groups: SecurityGroups, value: unknown, vpc: Item | undefined, noneMeansDefault: boolean): string[] {
  const items = itemsIn(value);
  if (items.length) return items.map((g) => groups.keyOf(g));
  return noneMeansDefault ? [groups.defaultOf(vpc)] : [];
}

function classicLoadBalancer(lookup: Lookup, groups: SecurityGroups, ref: ResourceRef, compute: readonly ComputeGroup[]): LoadBalancer {
  const props = resolvedProperties(ref);
  const where = placed(lookup, itemsIn(props['Subnets']));
  const keys = new Set(compute.map((g) => g.key));
  const instances = itemsIn(props['Instances']);
  const name = props['LoadBalancerName'];
  const members = [
    ...instances.filter((i): i is ResourceRef => i instanceof ResourceRef && keys.has(i.key)).map((i) => i.key),
    ...[ref.key, ...(typeof name === 'string' ? [name] : [])]
      .flatMap((id) => lookup.pointingAt('AWS::AutoScaling::AutoScalingGroup', 'LoadBalancerNames', id))
      .filter((g) => keys.has(g.key))
      .map((g) => g.key),
  ];
  const unknownTargets = instances.filter((i) => !(i instanceof ResourceRef && keys.has(i.key))).map((i) => `instance ${describeItem(i)}`);
  return {
    ...located(ref),
    kind: 'classic',
    exists: existence(ref),
    internetFacing: scheme(props['Scheme']),
    routed: where.routed,
    securityGroups: securityGroupsOf(groups, props['SecurityGroups'], where.vpc, true),
    vpcCidrs: where.vpcCidrs,
    listeners: records(props['Listeners']).map((l) => {
      const instancePort = Number(l['InstancePort']);
      return {
        protocols: ['tcp'],
        ...listenerPort(l['LoadBalancerPort']),
        targets: members.map((group): Target => ({ group, ...(Number.isInteger(instancePort) ? { port: instancePort } : {}), preserveClientIp: false })),
        unknownTargets,
      };
    }),
  };
}

const lookupStack = (lookup: Lookup, name: string) => lookup.set.stacks.find((s) => s.name === name)!;

/** Fixed private addresses of instances (on the instance or its inline network interfaces), by address. */
function fixedAddresses(lookup: Lookup, compute: readonly ComputeGroup[]): Map<string, string> {
  const found = new Map<string, string>();
  for (const g of compute.filter((c) => c.type === 'AWS::EC2::Instance')) {
    const props = resolvedProperties(new ResourceRef(lookupStack(lookup, g.stack), g.resource));
    for (const a of [props['PrivateIpAddress'], ...records(props['NetworkInterfaces']).map((n) => n['PrivateIpAddress'])]) if (typeof a === 'string') found.set(a, g.key);
  }
  return found;
}

function preservesClientIp(targetGroup: ResourceRef, kind: LoadBalancer['kind']): boolean {
  if (kind !== 'network') return false;
  const attribute = records(prop(targetGroup, 'TargetGroupAttributes')).find((a) => a['Key'] === 'preserve_client_ip.enabled')?.['Value'];
  if (attribute !== undefined) return String(attribute).toLowerCase() === 'true';
  // AWS defaults: on for instance targets; for IP targets only with UDP and TCP_UDP.
  const type = String(prop(targetGroup, 'TargetType') ?? 'instance');
  return type === 'instance' || ['UDP', 'TCP_UDP'].includes(String(prop(targetGroup, 'Protocol')).toUpperCase());
}

function forwarded(lookup: Lookup, actions: unknown, compute: readonly ComputeGroup[], kind: LoadBalancer['kind']): Pick<Listener, 'targets' | 'unknownTargets'> {
  const targetGroups = records(actions).flatMap((action) => {
    const forward = records((action['ForwardConfig'] as Record<string, unknown> | undefined)?.['TargetGroups']);
    return [...itemsIn(action['TargetGroupArn']), ...forward.flatMap((t) => itemsIn(t['TargetGroupArn']))];
  });
  const byAddress = fixedAddresses(lookup, compute);
  const keys = new Set(compute.map((g) => g.key));
  const targets: Target[] = [];
  const unknownTargets: string[] = [];
  for (const item of targetGroups) {
    const tg = lookup.resourceOf(item, 'AWS::ElasticLoadBalancingV2::TargetGroup');
    if (!tg) {
      unknownTargets.push(`target group ${describeItem(item)}, which the templates do not define`);
      continue;
    }
    const port = Number(prop(tg, 'Port'));
    const preserveClientIp = preservesClientIp(tg, kind);
    const add = (group: string, targetPort: unknown) =>
      targets.push({ group, ...(Number.isInteger(Number(targetPort ?? port)) ? { port: Number(targetPort ?? port) } : {}), preserveClientIp });
    for (const t of records(prop(tg, 'Targets'))) {
      const id = itemsIn(t['Id'])[0];
      const group = id instanceof ResourceRef && keys.has(id.key) ? id.key : typeof id === 'string' ? byAddress.get(id) : undefined;
      if (group) add(group, t['Port']);
      else unknownTargets.push(`${tg.id}: ${id === undefined ? 'no target' : describeItem(id)}`);
    }
    for (const g of lookup.pointingAt('AWS::AutoScaling::AutoScalingGroup', 'TargetGroupARNs', tg.key)) if (keys.has(g.key)) add(g.key, undefined);
  }
  const seen = new Set<string>();
  return { targets: targets.filter((t) => !seen.has(`${t.group}:${t.port}`) && seen.add(`${t.group}:${t.port}`)), unknownTargets };
}

const LISTENER_PROTOCOLS: Readonly<Record<string, Listener['protocols']>> = { UDP: ['udp'], TCP_UDP: ['tcp', 'udp'], GENEVE: ['udp'] };

function v2LoadBalancer(lookup: Lookup, groups: SecurityGroups, ref: ResourceRef, compute: readonly ComputeGroup[]): LoadBalancer {
  const props = resolvedProperties(ref);
  const type = String(props['Type'] ?? 'application');
  const kind = type === 'network' ? 'network' : type === 'gateway' ? 'gateway' : 'application';
  const where = placed(lookup, [...itemsIn(props['Subnets']), ...records(props['SubnetMappings']).flatMap((m) => itemsIn(m['SubnetId']))]);
  const listeners = lookup.pointingAt('AWS::ElasticLoadBalancingV2::Listener', 'LoadBalancerArn', ref.key).filter((l) => existence(l).holds !== 'no');
  return {
    ...located(ref),
    kind,
    exists: existence(ref),
    internetFacing: kind === 'gateway' ? no('a gateway load balancer is not internet-facing') : scheme(props['Scheme']),
    routed: where.routed,
    // An ALB without security groups gets its VPC's default group; an NLB without them has none.
    securityGroups: securityGroupsOf(groups, props['SecurityGroups'], where.vpc, kind === 'application'),
    vpcCidrs: where.vpcCidrs,
    listeners: listeners.map((l) => {
      const rules = lookup.pointingAt('AWS::ElasticLoadBalancingV2::ListenerRule', 'ListenerArn', l.key).filter((r) => existence(r).holds !== 'no');
      return {
        protocols: LISTENER_PROTOCOLS[String(prop(l, 'Protocol') ?? 'TCP').toUpperCase()] ?? ['tcp'],
        ...listenerPort(prop(l, 'Port')),
        ...forwarded(lookup, [...records(prop(l, 'DefaultActions')), ...rules.flatMap((r) => records(prop(r, 'Actions')))], compute, kind),
      };
    }),
  };
}

/** Every load balancer of the set, with the compute groups its listeners reach. */
export function buildLoadBalancers(lookup: Lookup, groups: SecurityGroups, compute: readonly ComputeGroup[]): LoadBalancer[] {
  return [
    ...lookup.ofType('AWS::ElasticLoadBalancing::LoadBalancer').map((ref) => classicLoadBalancer(lookup, groups, ref, compute)),
    ...lookup.ofType('AWS::ElasticLoadBalancingV2::LoadBalancer').map((ref) => v2LoadBalancer(lookup, groups, ref, compute)),
  ].filter((lb) => lb.exists.holds !== 'no');
}
