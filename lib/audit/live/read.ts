/**
 * Reads the live configuration behind a deployed cluster, with batch calls filtered to what the stacks
 * hold or touch (one DescribeInstances for every instance, one DescribeSecurityGroupRules for every
 * group, ...) and per-resource calls only where AWS has no batch form (a load balancer's listeners, a
 * target group's targets). What is read, in order:
 *
 * 1. the auto scaling groups of the stacks, then every instance (the stacks' and the groups'), with
 *    every interface attached to it, however it got there;
 * 2. the launch templates (the version each group launches) and launch configurations of the groups;
 * 3. the subnets, route tables and network ACLs of every VPC those instances and groups are in;
 * 4. every load balancer in those VPCs (not only the stacks': one created by hand may forward to a
 *    master), and of the internet-facing ones, listeners, listener rules, target groups, their targets
 *    and attributes; the VPCs' address ranges when there is one;
 * 5. the current ingress rules of every security group on an interface, a launch template, a launch
 *    configuration or an internet-facing load balancer, and the entries of prefix lists they name;
 * 6. the Elastic IPs on the interfaces, when some interface has a public address.
 *
 * Each read is `Known<T>`: a refused permission leaves that fact open for the model (build.ts).
 */
import { DescribeAutoScalingGroupsCommand, DescribeLaunchConfigurationsCommand, type AutoScalingGroup, type LaunchConfiguration } from '@aws-sdk/client-auto-scaling';
import {
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeNetworkAclsCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  GetManagedPrefixListEntriesCommand,
  type Address,
  type Filter,
  type Instance,
  type NetworkAcl,
  type ResponseLaunchTemplateData,
  type RouteTable,
  type SecurityGroupRule,
  type Subnet,
  type Vpc,
} from '@aws-sdk/client-ec2';
import { DescribeLoadBalancersCommand as DescribeClassicLoadBalancersCommand, type LoadBalancerDescription } from '@aws-sdk/client-elastic-load-balancing';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  type Listener,
  type LoadBalancer,
  type Rule,
  type TargetGroup,
  type TargetGroupAttribute,
  type TargetHealthDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { isKnown, Unavailable, type Known, type LiveClients, type LiveReader } from './aws.js';
import type { DeployedCluster } from './stacks.js';

export interface LiveState {
  readonly autoScalingGroups: Known<AutoScalingGroup[]>;
  /** Every instance of the stacks and of their groups that is not terminated. */
  readonly instances: Known<Instance[]>;
  /** Launch data by `launchTemplateKey` of the template and version a group launches. */
  readonly launchTemplates: ReadonlyMap<string, Known<ResponseLaunchTemplateData>>;
  readonly launchConfigurations: Known<LaunchConfiguration[]>;
  readonly subnets: Known<Subnet[]>;
  readonly routeTables: Known<RouteTable[]>;
  readonly networkAcls: Known<NetworkAcl[]>;
  /** Read only when some load balancer is internet-facing (for its VPC's address range). */
  readonly vpcs: Known<Vpc[]>;
  /** Ingress and egress rules of every group that matters (see above). */
  readonly securityGroupRules: Known<SecurityGroupRule[]>;
  /** Entries of the prefix lists the rules name, by prefix list ID. */
  readonly prefixLists: ReadonlyMap<string, Known<string[]>>;
  /** Elastic IPs on the interfaces; empty when no interface has a public address. */
  readonly addresses: Known<Address[]>;
  /** Application, network and gateway load balancers in the cluster's VPCs. */
  readonly loadBalancers: Known<LoadBalancer[]>;
  /** Listeners of each internet-facing load balancer, by its ARN. */
  readonly listeners: ReadonlyMap<string, Known<Listener[]>>;
  /** Rules of each listener of an internet-facing application load balancer, by listener ARN. */
  readonly rules: ReadonlyMap<string, Known<Rule[]>>;
  /** Target groups of each internet-facing load balancer, by its ARN. */
  readonly targetGroups: ReadonlyMap<string, Known<TargetGroup[]>>;
  /** Registered targets of those target groups, by target group ARN. */
  readonly targets: ReadonlyMap<string, Known<TargetHealthDescription[]>>;
  /** Attributes of the target groups of internet-facing network load balancers, by target group ARN. */
  readonly targetGroupAttributes: ReadonlyMap<string, Known<TargetGroupAttribute[]>>;
  /** Classic load balancers in the cluster's VPCs. */
  readonly classicLoadBalancers: Known<LoadBalancerDescription[]>;
}

/** The key of a launch template version as a group names it: `lt-0abc@$Latest`, `my-template@3`. */
export const launchTemplateKey = (spec: { LaunchTemplateId?: string | undefined; LaunchTemplateName?: string | undefined; Version?: string | undefined }) =>
  `${spec.LaunchTemplateId ?? spec.LaunchTemplateName ?? ''}@${spec.Version ?? '$Default'}`;

/** Values per filter in one call (EC2 takes up to 200 values per filter). */
const CHUNK = 200;

const chunks = <T>(items: readonly T[], size = CHUNK): T[][] => Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
const unique = <T>(items: readonly (T | undefined)[]): T[] => [...new Set(items.filter((i): i is T => i !== undefined && i !== ''))];
const known = <T>(value: Known<T[]>): T[] => (isKnown(value) ? value : []);

/** All chunks of one filtered EC2 listing; `Unavailable` if any was refused. */
async function filtered<P, T>(
  reader: LiveReader,
  action: `ec2:${string}`,
  name: string,
  values: readonly string[],
  send: (filters: Filter[], token: string | undefined, signal: AbortSignal) => Promise<P>,
  items: (page: P) => readonly T[] | undefined,
  next: (page: P) => string | undefined,
  extra: Filter[] = [],
): Promise<Known<T[]>> {
  const all: T[] = [];
  for (const chunk of chunks(values)) {
    const page = await reader.pages(action, (token, signal) => send([{ Name: name, Values: chunk }, ...extra], token, signal), items, next);
    if (page instanceof Unavailable) return page;
    all.push(...page);
  }
  return all;
}

export async function readLiveState(clients: LiveClients, reader: LiveReader, cluster: DeployedCluster): Promise<LiveState> {
  const { ec2, autoscaling } = clients;
  const groupNames = cluster.ofType('AWS::AutoScaling::AutoScalingGroup').map((r) => r.physicalId);
  const autoScalingGroups: Known<AutoScalingGroup[]> = groupNames.length
    ? await readGroups(clients, reader, groupNames)
    : [];
  const groups = known(autoScalingGroups);

  const instanceIds = unique([...cluster.ofType('AWS::EC2::Instance').map((r) => r.physicalId), ...groups.flatMap((g) => (g.Instances ?? []).map((i) => i.InstanceId))]);
  const instances = await filtered(
    reader,
    'ec2:DescribeInstances',
    'instance-id',
    instanceIds,
    (Filters, NextToken, signal) => ec2.send(new DescribeInstancesCommand({ Filters, MaxResults: 1000, ...(NextToken ? { NextToken } : {}) }), { abortSignal: signal }),
    (p) => (p.Reservations ?? []).flatMap((r) => r.Instances ?? []),
    (p) => p.NextToken,
    [{ Name: 'instance-state-name', Values: ['pending', 'running', 'shutting-down', 'stopping', 'stopped'] }],
  );
  const interfaces = known(instances).flatMap((i) => i.NetworkInterfaces ?? []);

  const launchTemplates = await readLaunchTemplates(clients, reader, groups);
  const configurationNames = unique(groups.map((g) => g.LaunchConfigurationName));
  const launchConfigurations: Known<LaunchConfiguration[]> = configurationNames.length
    ? await reader.pages(
        'autoscaling:DescribeLaunchConfigurations',
        (NextToken, signal) => autoscaling.send(new DescribeLaunchConfigurationsCommand({ LaunchConfigurationNames: configurationNames, ...(NextToken ? { NextToken } : {}) }), { abortSignal: signal }),
        (p) => p.LaunchConfigurations,
        (p) => p.NextToken,
      )
    : [];

  // Subnets: every subnet of the VPCs the instances and stacks are in, then any group subnet not among them.
  const vpcIds = unique([...interfaces.map((n) => n.VpcId), ...cluster.ofType('AWS::EC2::VPC').map((r) => r.physicalId)]);
  const groupSubnets = unique(groups.flatMap((g) => (g.VPCZoneIdentifier ?? '').split(',').map((s) => s.trim())));
  const subnets = await readSubnets(clients, reader, vpcIds, unique([...groupSubnets, ...cluster.ofType('AWS::EC2::Subnet').map((r) => r.physicalId)]));
  const allVpcs = unique([...vpcIds, ...known(subnets).map((s) => s.VpcId)]);
  const byVpc = <P, T>(action: `ec2:${string}`, send: (filters: Filter[], token: string | undefined, signal: AbortSignal) => Promise<P>, items: (p: P) => readonly T[] | undefined, next: (p: P) => string | undefined) =>
    filtered(reader, action, 'vpc-id', allVpcs, send, items, next);
  const routeTables = await byVpc(
    'ec2:DescribeRouteTables',
    (Filters, NextToken, signal) => ec2.send(new DescribeRouteTablesCommand({ Filters, MaxResults: 100, ...(NextToken ? { NextToken } : {}) }), { abortSignal: signal }),
    (p) => p.RouteTables,
    (p) => p.NextToken,
  );
  const networkAcls = await byVpc(
    'ec2:DescribeNetworkAcls',
    (Filters, NextToken, signal) => ec2.send(new DescribeNetworkAclsCommand({ Filters, MaxResults: 100, ...(NextToken ? { NextToken } : {}) }), { abortSignal: signal }),
    (p) => p.NetworkAcls,
    (p) => p.NextToken,
  );

  const balancing = await readLoadBalancers(clients, reader, allVpcs);
  const internetFacing = known(balancing.loadBalancers).some((lb) => lb.Scheme === 'internet-facing') || known(balancing.classicLoadBalancers).some((lb) => lb.Scheme === 'internet-facing');
  const vpcs: Known<Vpc[]> = internetFacing
    ? await byVpc(
        'ec2:DescribeVpcs',
        (Filters, NextToken, signal) => ec2.send(new DescribeVpcsCommand({ Filters, MaxResults: 1000, ...(NextToken ? { NextToken } : {}) }), { abortSignal: signal }),
        (p) => p.Vpcs,
        (p) => p.NextToken,
      )
    : [];

  const groupIds = unique([
    ...interfaces.flatMap((n) => (n.Groups ?? []).map((g) => g.GroupId)),
    ...[...launchTemplates.values()].flatMap((t) => (isKnown(t) ? [...(t.SecurityGroupIds ?? []), ...(t.NetworkInterfaces ?? []).flatMap((n) => n.Groups ?? [])] : [])),
    ...known(launchConfigurations).flatMap((c) => c.SecurityGroups ?? []),
    ...known(balancing.loadBalancers).filter((lb) => lb.Scheme === 'internet-facing').flatMap((lb) => lb.SecurityGroups ?? []),
    ...known(balancing.classicLoadBalancers).filter((lb) => lb.Scheme === 'internet-facing').flatMap((lb) => lb.SecurityGroups ?? []),
    ...cluster.ofType('AWS::EC2::SecurityGroup').map((r) => r.physicalId),
  ]).filter((id) => id.startsWith('sg-'));
  const securityGroupRules = await filtered(
    reader,
    'ec2:DescribeSecurityGroupRules',
    'group-id',
    groupIds,
    (Filters, NextToken, signal) => ec2.send(new DescribeSecurityGroupRulesCommand({ Filters, MaxResults: 1000, ...(NextToken ? { NextToken } : {}) }), { abortSignal: signal }),
    (p) => p.SecurityGroupRules,
    (p) => p.NextToken,
  );
  const prefixLists = new Map<string, Known<string[]>>();
  for (const id of unique(known(securityGroupRules).filter((r) => !r.IsEgress).map((r) => r.PrefixListId))) {
    const entries = await reader.pages(
      'ec2:GetManagedPrefixListEntries',
      (NextToken, signal) => ec2.send(new GetManagedPrefixListEntriesCommand({ PrefixListId: id, MaxResults: 100, ...(NextToken ? { NextToken } : {}) }), { abortSignal: signal }),
      (p) => p.Entries,
      (p) => p.NextToken,
    );
    prefixLists.set(id, isKnown(entries) ? unique(entries.map((e) => e.Cidr)) : entries);
  }

  const addressed = interfaces.filter((n) => n.Association?.PublicIp || (n.PrivateIpAddresses ?? []).some((a) => a.Association?.PublicIp));
  const addresses: Known<Address[]> = addressed.length
    ? await filtered(
        reader,
        'ec2:DescribeAddresses',
        'network-interface-id',
        unique(addressed.map((n) => n.NetworkInterfaceId)),
        (Filters, _token, signal) => ec2.send(new DescribeAddressesCommand({ Filters }), { abortSignal: signal }),
        (p) => p.Addresses,
        () => undefined,
      )
    : [];

  return { autoScalingGroups, instances, launchTemplates, launchConfigurations, subnets, routeTables, networkAcls, vpcs, securityGroupRules, prefixLists, addresses, ...balancing };
}

async function readGroups({ autoscaling }: LiveClients, reader: LiveReader, names: readonly string[]): Promise<Known<AutoScalingGroup[]>> {
  const all: AutoScalingGroup[] = [];
  for (const chunk of chunks(names, 50)) {
    const page = await reader.pages(
      'autoscaling:DescribeAutoScalingGroups',
      (NextToken, signal) => autoscaling.send(new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: chunk, MaxRecords: 100, ...(NextToken ? { NextToken } : {}) }), { abortSignal: signal }),
      (p) => p.AutoScalingGroups,
      (p) => p.NextToken,
    );
    if (page instanceof Unavailable) return page;
    all.push(...page);
  }
  return all;
}

/** The launch template versions the groups launch (their own and their mixed instances policies' overrides). */
export function launchTemplateSpecs(group: AutoScalingGroup): { LaunchTemplateId?: string; LaunchTemplateName?: string; Version?: string }[] {
  const mixed = group.MixedInstancesPolicy?.LaunchTemplate;
  return [group.LaunchTemplate, mixed?.LaunchTemplateSpecification, ...(mixed?.Overrides ?? []).map((o) => o.LaunchTemplateSpecification)].filter(
    (s): s is NonNullable<typeof s> => s !== undefined && (s.LaunchTemplateId !== undefined || s.LaunchTemplateName !== undefined),
  );
}

async function readLaunchTemplates({ ec2 }: LiveClients, reader: LiveReader, groups: readonly AutoScalingGroup[]): Promise<Map<string, Known<ResponseLaunchTemplateData>>> {
  const found = new Map<string, Known<ResponseLaunchTemplateData>>();
  for (const spec of groups.flatMap(launchTemplateSpecs)) {
    const key = launchTemplateKey(spec);
    if (found.has(key)) continue;
    const versions = await reader.read('ec2:DescribeLaunchTemplateVersions', (signal) =>
      ec2.send(
        new DescribeLaunchTemplateVersionsCommand({
          ...(spec.LaunchTemplateId ? { LaunchTemplateId: spec.LaunchTemplateId } : { LaunchTemplateName: spec.LaunchTemplateName }),
          Versions: [spec.Version ?? '$Default'],
        }),
        { abortSignal: signal },
      ),
    );
    const data = isKnown(versions) ? versions.LaunchTemplateVersions?.[0]?.LaunchTemplateData : versions;
    found.set(key, data ?? new Unavailable(`launch template ${key} has no such version`));
  }
  return found;
}

async function readSubnets({ ec2 }: LiveClients, reader: LiveReader, vpcIds: readonly string[], wanted: readonly string[]): Promise<Known<Subnet[]>> {
  const send = (Filters: Filter[], NextToken: string | undefined, signal: AbortSignal) => ec2.send(new DescribeSubnetsCommand({ Filters, MaxResults: 1000, ...(NextToken ? { NextToken } : {}) }), { abortSignal: signal });
  const inVpcs = await filtered(reader, 'ec2:DescribeSubnets', 'vpc-id', vpcIds, send, (p) => p.Subnets, (p) => p.NextToken);
  if (inVpcs instanceof Unavailable) return inVpcs;
  const missing = wanted.filter((id) => id.startsWith('subnet-') && !inVpcs.some((s) => s.SubnetId === id));
  if (missing.length === 0) return inVpcs;
  const rest = await filtered(reader, 'ec2:DescribeSubnets', 'subnet-id', missing, send, (p) => p.Subnets, (p) => p.NextToken);
  return rest instanceof Unavailable ? rest : [...inVpcs, ...rest];
}

type Balancing = Pick<LiveState, 'loadBalancers' | 'listeners' | 'rules' | 'targetGroups' | 'targets' | 'targetGroupAttributes' | 'classicLoadBalancers'>;

async function readLoadBalancers({ elbv2, elb }: LiveClients, reader: LiveReader, vpcIds: readonly string[]): Promise<Balancing> {
  const inVpcs = <T extends { VpcId?: string | undefined; VPCId?: string | undefined }>(items: Known<T[]>): Known<T[]> =>
    isKnown(items) ? items.filter((lb) => vpcIds.includes(lb.VpcId ?? lb.VPCId ?? '')) : items;
  const loadBalancers = inVpcs(
    await reader.pages(
      'elasticloadbalancing:DescribeLoadBalancers',
      (Marker, signal) => elbv2.send(new DescribeLoadBalancersCommand({ PageSize: 400, ...(Marker ? { Marker } : {}) }), { abortSignal: signal }),
      (p) => p.LoadBalancers,
      (p) => p.NextMarker,
    ),
  );
  const classicLoadBalancers = inVpcs(
    await reader.pages(
      'elasticloadbalancing:DescribeLoadBalancers (classic)',
      (Marker, signal) => elb.send(new DescribeClassicLoadBalancersCommand({ PageSize: 400, ...(Marker ? { Marker } : {}) }), { abortSignal: signal }),
      (p) => p.LoadBalancerDescriptions,
      (p) => p.NextMarker,
    ),
  );
  const listeners = new Map<string, Known<Listener[]>>();
  const rules = new Map<string, Known<Rule[]>>();
  const targetGroups = new Map<string, Known<TargetGroup[]>>();
  const targets = new Map<string, Known<TargetHealthDescription[]>>();
  const targetGroupAttributes = new Map<string, Known<TargetGroupAttribute[]>>();
  for (const lb of known(loadBalancers).filter((l) => l.Scheme === 'internet-facing' && l.LoadBalancerArn)) {
    const arn = lb.LoadBalancerArn!;
    const found = await reader.pages(
      'elasticloadbalancing:DescribeListeners',
      (Marker, signal) => elbv2.send(new DescribeListenersCommand({ LoadBalancerArn: arn, PageSize: 400, ...(Marker ? { Marker } : {}) }), { abortSignal: signal }),
      (p) => p.Listeners,
      (p) => p.NextMarker,
    );
    listeners.set(arn, found);
    if (lb.Type === 'application') {
      for (const listener of known(found).filter((l) => l.ListenerArn)) {
        rules.set(
          listener.ListenerArn!,
          await reader.pages(
            'elasticloadbalancing:DescribeRules',
            (Marker, signal) => elbv2.send(new DescribeRulesCommand({ ListenerArn: listener.ListenerArn, PageSize: 400, ...(Marker ? { Marker } : {}) }), { abortSignal: signal }),
            (p) => p.Rules,
            (p) => p.NextMarker,
          ),
        );
      }
    }
    const groups = await reader.pages(
      'elasticloadbalancing:DescribeTargetGroups',
      (Marker, signal) => elbv2.send(new DescribeTargetGroupsCommand({ LoadBalancerArn: arn, PageSize: 400, ...(Marker ? { Marker } : {}) }), { abortSignal: signal }),
      (p) => p.TargetGroups,
      (p) => p.NextMarker,
    );
    targetGroups.set(arn, groups);
    for (const tg of known(groups).filter((g) => g.TargetGroupArn && !targets.has(g.TargetGroupArn))) {
      const tgArn = tg.TargetGroupArn!;
      const health = await reader.read('elasticloadbalancing:DescribeTargetHealth', (signal) => elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: tgArn }), { abortSignal: signal }));
      targets.set(tgArn, isKnown(health) ? (health.TargetHealthDescriptions ?? []) : health);
      if (lb.Type === 'network') {
        const attributes = await reader.read('elasticloadbalancing:DescribeTargetGroupAttributes', (signal) =>
          elbv2.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: tgArn }), { abortSignal: signal }),
        );
        targetGroupAttributes.set(tgArn, isKnown(attributes) ? (attributes.Attributes ?? []) : attributes);
      }
    }
  }
  return { loadBalancers, listeners, rules, targetGroups, targets, targetGroupAttributes, classicLoadBalancers };
}
