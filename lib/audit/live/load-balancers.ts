/**
 * Load balancers of the live model: every application, network and classic load balancer in the
 * cluster's VPCs, the stacks' and any other (one created by hand may forward to a master). Of an
 * internet-facing one, its listeners and the targets registered now (DescribeTargetHealth), each mapped
 * to the compute group it belongs to (an instance of the stacks, or a member of their auto scaling
 * groups, by instance ID or private address), plus the groups attached to its target groups, whose next
 * instances will be registered. An internal load balancer's listeners are not read: the internet cannot
 * use them.
 *
 * What could not be read becomes doubt, never absence: a listener that forwards where the audit cannot
 * see reaches, possibly, every group on every port.
 */
import type { AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import type { Action as ListenerAction, LoadBalancer as V2LoadBalancer, Listener as V2Listener, TargetGroup } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { LoadBalancerDescription } from '@aws-sdk/client-elastic-load-balancing';
import { anyOf, maybe, no, yes, type ComputeGroup, type Fact, type Listener, type LoadBalancer, type Protocol, type Target } from '../model.js';
import { isKnown, type Known } from './aws.js';
import { OUTSIDE, type LiveFacts } from './facts.js';

const PROTOCOLS: Readonly<Record<string, readonly Protocol[]>> = { UDP: ['udp'], TCP_UDP: ['tcp', 'udp'], GENEVE: ['udp'] };

/** Every target could be any group on any port, seeing the client's address or not: what an unreadable listener or target group means. */
function everything(groups: readonly ComputeGroup[], why: string): Listener {
  const targets = groups.flatMap((g) => [true, false].map((preserveClientIp) => ({ group: g.key, preserveClientIp })));
  return { protocols: ['tcp', 'udp'], from: 0, to: 65535, doubt: why, targets, unknownTargets: [] };
}

/** The compute group of a stack auto scaling group, if it is one of the model. */
const groupOf = (ctx: Context, asg: AutoScalingGroup) => {
  const key = ctx.facts.locate(asg.AutoScalingGroupName ?? '', 'AWS::AutoScaling::AutoScalingGroup').key;
  return ctx.groups.find((g) => g.key === key);
};

interface Context {
  readonly facts: LiveFacts;
  readonly groups: readonly ComputeGroup[];
  /** Compute group key by instance ID. */
  readonly memberOf: ReadonlyMap<string, string>;
  /** Compute group key by private IPv4 address. */
  readonly byAddress: ReadonlyMap<string, string>;
  readonly asgs: readonly AutoScalingGroup[];
}

function placed(ctx: Context, subnetIds: readonly string[], vpcId: string | undefined): { routed: Fact; vpcCidrs: string[] } {
  const routed = subnetIds.length ? anyOf(subnetIds.map((s) => ctx.facts.subnet(s).routed.ipv4)) : maybe('AWS returned no subnet for it');
  const vpcs = ctx.facts.state.vpcs;
  const vpc = isKnown(vpcs) ? vpcs.find((v) => v.VpcId === vpcId) : undefined;
  const vpcCidrs = (vpc?.CidrBlockAssociationSet ?? []).filter((c) => c.CidrBlockState?.State === 'associated' || c.CidrBlockState === undefined).map((c) => c.CidrBlock).filter((c): c is string => c !== undefined);
  return { routed, vpcCidrs: vpcCidrs.length ? vpcCidrs : vpc?.CidrBlock ? [vpc.CidrBlock] : [] };
}

const scheme = (value: string | undefined): Fact => (value === 'internal' ? no('Scheme: internal') : value === 'internet-facing' ? yes('Scheme: internet-facing') : maybe(`Scheme: ${value ?? 'not returned'}`));

/** Target groups an action list forwards to. */
const forwardedTo = (actions: readonly ListenerAction[] | undefined): string[] =>
  (actions ?? []).flatMap((a) => [a.TargetGroupArn, ...(a.ForwardConfig?.TargetGroups ?? []).map((t) => t.TargetGroupArn)]).filter((a): a is string => a !== undefined);

function preserveClientIp(ctx: Context, tg: TargetGroup, kind: LoadBalancer['kind']): { values: boolean[]; doubt?: string } {
  if (kind !== 'network') return { values: [false] };
  const attributes = ctx.facts.state.targetGroupAttributes.get(tg.TargetGroupArn ?? '');
  if (attributes && !isKnown(attributes)) return { values: [true, false], doubt: `whether ${ctx.facts.nameOf(tg.TargetGroupArn ?? '')} preserves client IPs could not be read: ${attributes.why}` };
  const value = attributes?.find((a) => a.Key === 'preserve_client_ip.enabled')?.Value;
  if (value !== undefined) return { values: [value.toLowerCase() === 'true'] };
  // AWS's defaults: on for instance targets; for IP targets only with UDP and TCP_UDP.
  return { values: [tg.TargetType === 'instance' || tg.Protocol === 'UDP' || tg.Protocol === 'TCP_UDP'] };
}

/** The targets a listener of an internet-facing v2 load balancer reaches, or everything with the reason it cannot be known. */
function v2Listener(ctx: Context, lb: V2LoadBalancer, owned: boolean, kind: LoadBalancer['kind'], listener: V2Listener): Listener {
  const rules = ctx.facts.state.rules.get(listener.ListenerArn ?? '');
  if (rules && !isKnown(rules)) return everything(ctx.groups, `the rules of a listener of ${lb.LoadBalancerName} could not be read: ${rules.why}`);
  const arns = [...new Set([...forwardedTo(listener.DefaultActions), ...(rules ?? []).flatMap((r) => forwardedTo(r.Actions))])];
  const known = ctx.facts.state.targetGroups.get(lb.LoadBalancerArn ?? '');
  const targets: Target[] = [];
  const unknownTargets: string[] = [];
  const doubts: string[] = [];
  for (const arn of arns) {
    const tg = known && isKnown(known) ? known.find((g) => g.TargetGroupArn === arn) : undefined;
    const registered = ctx.facts.state.targets.get(arn);
    if (!tg || !registered || !isKnown(registered)) {
      const why = known && !isKnown(known) ? known.why : registered && !isKnown(registered) ? registered.why : 'it is not among the target groups AWS returned for the load balancer';
      return everything(ctx.groups, `the targets of ${ctx.facts.nameOf(arn)} could not be read: ${why}`);
    }
    const preserve = preserveClientIp(ctx, tg, kind);
    if (preserve.doubt) doubts.push(preserve.doubt);
    const add = (group: string, port: number | undefined) => {
      for (const preserveClientIp of preserve.values) targets.push({ group, ...(port !== undefined ? { port } : {}), preserveClientIp });
    };
    for (const d of registered) {
      const id = d.Target?.Id ?? '';
      const group = ctx.memberOf.get(id) ?? ctx.byAddress.get(id);
      if (group) add(group, d.Target?.Port ?? tg.Port);
      else if (tg.TargetType === 'alb') doubts.push(`${ctx.facts.nameOf(arn)} forwards to load balancer ${id}, whose targets are not followed`);
      else if (owned) unknownTargets.push(`${ctx.facts.nameOf(arn)}: ${id}`);
    }
    for (const asg of ctx.asgs.filter((g) => (g.TargetGroupARNs ?? []).includes(arn))) {
      const group = groupOf(ctx, asg);
      if (group) add(group.key, tg.Port);
    }
  }
  if (doubts.some((d) => d.includes('whose targets are not followed'))) return everything(ctx.groups, doubts.join('; '));
  const seen = new Set<string>();
  return {
    protocols: PROTOCOLS[String(listener.Protocol ?? 'TCP').toUpperCase()] ?? ['tcp'],
    from: listener.Port ?? 0,
    to: listener.Port ?? 65535,
    ...(doubts.length ? { doubt: doubts.join('; ') } : listener.Port === undefined ? { doubt: 'AWS returned no listener port' } : {}),
    targets: targets.filter((t) => !seen.has(`${t.group}:${t.port}:${t.preserveClientIp}`) && seen.add(`${t.group}:${t.port}:${t.preserveClientIp}`)),
    unknownTargets,
  };
}

function v2LoadBalancer(ctx: Context, lb: V2LoadBalancer): LoadBalancer {
  const located = ctx.facts.locate(lb.LoadBalancerArn ?? '', 'AWS::ElasticLoadBalancingV2::LoadBalancer', lb.LoadBalancerName);
  const kind = lb.Type === 'network' ? 'network' : lb.Type === 'gateway' ? 'gateway' : 'application';
  const internetFacing = kind === 'gateway' ? no('a gateway load balancer is not internet-facing') : scheme(lb.Scheme);
  const where = placed(ctx, (lb.AvailabilityZones ?? []).map((z) => z.SubnetId).filter((s): s is string => s !== undefined), lb.VpcId);
  let listeners: Listener[] = [];
  if (internetFacing.holds !== 'no') {
    const read: Known<V2Listener[]> | undefined = ctx.facts.state.listeners.get(lb.LoadBalancerArn ?? '');
    listeners = read && isKnown(read) ? read.map((l) => v2Listener(ctx, lb, located.stack !== OUTSIDE, kind, l)) : [everything(ctx.groups, `the listeners of ${located.resource} could not be read: ${read?.why ?? 'not read'}`)];
  }
  return {
    ...located,
    kind,
    exists: yes(''),
    internetFacing,
    routed: where.routed,
    securityGroups: (lb.SecurityGroups ?? []).map((g) => ctx.facts.groupKey(g)),
    vpcCidrs: where.vpcCidrs,
    listeners,
  };
}

function classicLoadBalancer(ctx: Context, lb: LoadBalancerDescription): LoadBalancer {
  const name = lb.LoadBalancerName ?? '';
  const located = ctx.facts.locate(name, 'AWS::ElasticLoadBalancing::LoadBalancer', name);
  const internetFacing = scheme(lb.Scheme);
  const where = placed(ctx, lb.Subnets ?? [], lb.VPCId);
  const members = new Set<string>();
  const unknownTargets: string[] = [];
  for (const i of lb.Instances ?? []) {
    const group = ctx.memberOf.get(i.InstanceId ?? '');
    if (group) members.add(group);
    else if (located.stack !== OUTSIDE) unknownTargets.push(`instance ${i.InstanceId}`);
  }
  for (const asg of ctx.asgs.filter((g) => (g.LoadBalancerNames ?? []).includes(name))) {
    const group = groupOf(ctx, asg);
    if (group) members.add(group.key);
  }
  return {
    ...located,
    kind: 'classic',
    exists: yes(''),
    internetFacing,
    routed: where.routed,
    securityGroups: (lb.SecurityGroups ?? []).map((g) => ctx.facts.groupKey(g)),
    vpcCidrs: where.vpcCidrs,
    listeners:
      internetFacing.holds === 'no'
        ? []
        : (lb.ListenerDescriptions ?? []).map(({ Listener: l }) => ({
            protocols: ['tcp'],
            from: l?.LoadBalancerPort ?? 0,
            to: l?.LoadBalancerPort ?? 65535,
            targets: [...members].map((group): Target => ({ group, ...(l?.InstancePort !== undefined ? { port: l.InstancePort } : {}), preserveClientIp: false })),
            unknownTargets,
          })),
  };
}

/**
 * The load balancers of the live model; when the load balancers themselves could not be listed, every
 * group gets an unknown registration with the reason instead.
 */
export function liveLoadBalancers(facts: LiveFacts, groups: readonly ComputeGroup[], memberOf: ReadonlyMap<string, string>, asgs: readonly AutoScalingGroup[]): { loadBalancers: LoadBalancer[]; unknownRegistrations: string[] } {
  const byAddress = new Map<string, string>();
  for (const [id, group] of memberOf) {
    for (const eni of facts.instances.get(id)?.NetworkInterfaces ?? []) for (const a of eni.PrivateIpAddresses ?? []) if (a.PrivateIpAddress) byAddress.set(a.PrivateIpAddress, group);
  }
  const ctx: Context = { facts, groups, memberOf, byAddress, asgs };
  const { loadBalancers: v2, classicLoadBalancers: classic } = facts.state;
  const unknownRegistrations = [v2, classic].filter((r) => !isKnown(r)).map((r) => `the load balancers in its VPC could not be listed (${(r as { why: string }).why}): one may forward to it`);
  return {
    loadBalancers: [...(isKnown(v2) ? v2.map((lb) => v2LoadBalancer(ctx, lb)) : []), ...(isKnown(classic) ? classic.map((lb) => classicLoadBalancer(ctx, lb)) : [])],
    unknownRegistrations,
  };
}
