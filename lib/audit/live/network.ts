/**
 * The network model (../model.ts) of a deployed cluster, from live state: the same model the template
 * audit builds, so the same `exposureOf` and role rules run on it.
 *
 * - A stack **instance** sits on every interface attached to it now (an interface attached by hand
 *   included), with the public and Elastic IPs on it now, in its subnet as it is now.
 * - A stack **auto scaling group** sits where its instances are now, and where its next instance would
 *   go: the launch template version (or launch configuration) it launches, in each of its subnets.
 * - **Security groups** carry their current ingress rules; a rule no template declares is marked so.
 * - **Load balancers** are every one in the cluster's VPCs, the stacks' or not (load-balancers.ts).
 *
 * Roles come from the templates' `dcos:role` tags of the stack resource, then from the resource's own
 * tags, then from its logical ID.
 */
import type { AutoScalingGroup, TagDescription } from '@aws-sdk/client-auto-scaling';
import type { Instance, InstanceNetworkInterface, LaunchTemplateInstanceNetworkInterfaceSpecificationRequest, ResponseLaunchTemplateData } from '@aws-sdk/client-ec2';
import { records, prop } from '../lookup.js';
import { allOf, anyOf, maybe, no, yes, type ComputeGroup, type ComputeType, type Fact, type NetworkModel, type Placement, type Role } from '../model.js';
import { refOf, roleFromTags, roleOf } from '../network.js';
import { isKnown, type Known } from './aws.js';
import { LiveFacts, type LiveSubnet } from './facts.js';
import { liveLoadBalancers } from './load-balancers.js';
import { launchTemplateKey, launchTemplateSpecs, type LiveState } from './read.js';
import type { DeployedCluster } from './stacks.js';

/** Something the audit noticed that is not a fact of the model: a stack instance that is gone, say. */
export interface LiveNote {
  readonly resource: string;
  readonly note: string;
}

export interface LiveModel {
  readonly model: NetworkModel;
  readonly notes: readonly LiveNote[];
}

/** Role: the template's tag on the stack resource, else the live resource's own tag, else a guess from the logical ID. */
function roleFor(cluster: DeployedCluster, stack: string, logicalId: string, liveTags: readonly { Key?: string | undefined; Value?: string | undefined }[] | undefined): Role {
  const ref = refOf(cluster.templates, { stack, resource: logicalId });
  return roleFromTags(records(prop(ref, 'Tags'))) ?? roleFromTags(liveTags) ?? roleOf(ref);
}

/** The Elastic IP or public IP on an interface, as a fact naming where it comes from and the interface. */
function publicAddress(facts: LiveFacts, eni: InstanceNetworkInterface, label: string): Fact {
  const ips = [eni.Association?.PublicIp, ...(eni.PrivateIpAddresses ?? []).map((a) => a.Association?.PublicIp)].filter((ip): ip is string => ip !== undefined && ip !== '');
  if (ips.length === 0) return no('no public IPv4 address');
  const addresses = isKnown(facts.state.addresses) ? facts.state.addresses : [];
  return anyOf(
    [...new Set(ips)].map((ip) => {
      const eip = addresses.find((a) => a.PublicIp === ip);
      if (!eip) return yes(`public IP ${ip} on its ${label}`);
      const owner = facts.cluster.ownerOf(eip.AllocationId ?? '') ?? facts.cluster.ownerOf(ip);
      return yes(`Elastic IP ${ip} (${owner ? `${owner.stack}/${owner.logicalId}` : `${eip.AllocationId ?? 'no allocation ID'}, not a stack resource`}) on its ${label}`);
    }),
  );
}

function interfacePlacement(facts: LiveFacts, instance: Instance, eni: InstanceNetworkInterface): Placement {
  const subnet = facts.subnet(eni.SubnetId ?? '');
  const primary = eni.Attachment?.DeviceIndex === 0;
  const owned = facts.cluster.ownerOf(eni.NetworkInterfaceId ?? '') !== undefined;
  const label = `${primary ? 'primary interface' : `interface ${eni.NetworkInterfaceId}`}${primary || owned ? '' : ' (not a stack resource)'}`;
  const current = publicAddress(facts, eni, label);
  const stopped = instance.State?.Name === 'stopped' || instance.State?.Name === 'stopping';
  // A stopped instance has no automatic public IP now, but may get one again when it starts.
  const publicIpv4 = stopped && primary && current.holds === 'no' && subnet.mapsPublicIpv4.holds !== 'no' ? maybe(`the instance is stopped; ${subnet.mapsPublicIpv4.why}, so it may get a public IP when started`) : current;
  const ipv6 = (eni.Ipv6Addresses ?? []).map((a) => a.Ipv6Address).filter((a): a is string => a !== undefined);
  const groups = (eni.Groups ?? []).map((g) => g.GroupId).filter((g): g is string => g !== undefined);
  return {
    name: `${label} in ${subnet.name}`,
    publicIpv4,
    internetIpv4: allOf(publicIpv4, subnet.routed.ipv4),
    internetIpv6: ipv6.length ? allOf(yes(`IPv6 address ${ipv6[0]}`), subnet.routed.ipv6) : no('no IPv6 address'),
    securityGroups: groups.length ? groups.map((g) => facts.groupKey(g)) : [facts.openGroup(`interface ${eni.NetworkInterfaceId} lists no security group`)],
    acl: subnet.acl,
  };
}

/** Where an instance launched from these settings would sit, in one subnet (as in the template analysis). */
function launchPlacement(facts: LiveFacts, name: string, spec: LaunchInterface, subnet: LiveSubnet, launchCount: number): Placement {
  const automatic: Fact =
    spec.deviceIndex !== 0
      ? no(`${name} gets no automatic public IP`)
      : spec.associatePublicIp === true
        ? yes(`${spec.source}: AssociatePublicIpAddress true`)
        : spec.associatePublicIp === false
          ? no(`${spec.source}: AssociatePublicIpAddress false`)
          : launchCount > 1
            ? no('an instance launched with several interfaces gets no automatic public IP')
            : subnet.mapsPublicIpv4;
  const ipv6: Fact = spec.ipv6 ? yes(`${spec.source} asks for IPv6 addresses`) : subnet.assignsIpv6;
  return {
    name: `${name} in ${subnet.name}`,
    publicIpv4: automatic,
    internetIpv4: allOf(automatic, subnet.routed.ipv4),
    internetIpv6: allOf(ipv6, subnet.routed.ipv6),
    securityGroups: spec.groups.length
      ? spec.groups.map((g) => facts.groupKey(g))
      : [facts.openGroup(`${spec.source} names no security group, so the default security group of the VPC applies; its rules were not read`)],
    acl: subnet.acl,
  };
}

interface LaunchInterface {
  readonly source: string;
  readonly deviceIndex: number;
  readonly associatePublicIp?: boolean;
  readonly ipv6: boolean;
  readonly groups: readonly string[];
}

function launchInterfaces(source: string, data: ResponseLaunchTemplateData): LaunchInterface[] {
  const topGroups = [...(data.SecurityGroupIds ?? []), ...(data.SecurityGroups ?? [])];
  const inline = (data.NetworkInterfaces ?? []) as LaunchTemplateInstanceNetworkInterfaceSpecificationRequest[];
  if (inline.length === 0) return [{ source, deviceIndex: 0, ipv6: false, groups: topGroups }];
  return inline.map((n) => ({
    source,
    deviceIndex: n.DeviceIndex ?? 0,
    ...(n.AssociatePublicIpAddress !== undefined ? { associatePublicIp: n.AssociatePublicIpAddress } : {}),
    ipv6: (n.Ipv6AddressCount ?? 0) > 0 || (n.Ipv6Addresses ?? []).length > 0,
    groups: n.Groups?.length ? n.Groups : (n.DeviceIndex ?? 0) === 0 ? topGroups : [],
  }));
}

/** Where the group's next instance would sit: its launch template(s) or configuration, in each of its subnets. */
function launchPlacements(facts: LiveFacts, group: AutoScalingGroup): Placement[] {
  const subnets = (group.VPCZoneIdentifier ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  const places = subnets.length ? subnets.map((s) => facts.subnet(s)) : [];
  const open = (why: string): Placement[] => {
    const fact = maybe(why);
    return [{ name: 'its next instance', publicIpv4: fact, internetIpv4: fact, internetIpv6: fact, securityGroups: [facts.openGroup(why)] }];
  };
  if (places.length === 0) return open(`auto scaling group ${group.AutoScalingGroupName} lists no subnet (VPCZoneIdentifier): where it launches is not known`);
  let specs: LaunchInterface[];
  if (group.LaunchConfigurationName) {
    const configurations = facts.state.launchConfigurations;
    if (!isKnown(configurations)) return open(`its launch configuration could not be read: ${configurations.why}`);
    const c = configurations.find((l) => l.LaunchConfigurationName === group.LaunchConfigurationName);
    if (!c) return open(`launch configuration ${group.LaunchConfigurationName} is not in what AWS returned`);
    const source = `launch configuration ${group.LaunchConfigurationName}`;
    specs = [{ source, deviceIndex: 0, ...(c.AssociatePublicIpAddress !== undefined ? { associatePublicIp: c.AssociatePublicIpAddress } : {}), ipv6: false, groups: c.SecurityGroups ?? [] }];
  } else {
    const templates = launchTemplateSpecs(group);
    if (templates.length === 0) return open(`auto scaling group ${group.AutoScalingGroupName} names no launch template or configuration`);
    specs = [];
    for (const spec of templates) {
      const key = launchTemplateKey(spec);
      const data: Known<ResponseLaunchTemplateData> | undefined = facts.state.launchTemplates.get(key);
      const source = `launch template ${facts.nameOf(spec.LaunchTemplateId ?? '')}${spec.LaunchTemplateId ? '' : spec.LaunchTemplateName ?? ''} version ${spec.Version ?? '$Default'}`;
      if (data === undefined || !isKnown(data)) return open(`${source} could not be read: ${data?.why ?? 'not read'}`);
      specs.push(...launchInterfaces(source, data));
    }
  }
  const launchCount = Math.max(...specs.map((s) => s.deviceIndex)) + 1;
  return specs.flatMap((spec) => places.map((subnet) => launchPlacement(facts, spec.deviceIndex === 0 ? 'its next instance' : `its next instance's interface ${spec.deviceIndex}`, spec, subnet, launchCount)));
}

function instancePlacements(facts: LiveFacts, instance: Instance): Placement[] {
  return (instance.NetworkInterfaces ?? []).map((eni) => interfacePlacement(facts, instance, eni));
}

function unknownPlacement(facts: LiveFacts, why: string): Placement {
  const open = maybe(why);
  return { name: 'its interfaces', publicIpv4: open, internetIpv4: open, internetIpv6: open, securityGroups: [facts.openGroup(why)] };
}

/** Builds the network model of the deployed cluster from what was read. */
export function buildLiveModel(cluster: DeployedCluster, state: LiveState, templateModel: NetworkModel): LiveModel {
  const facts = new LiveFacts(cluster, state, templateModel);
  const notes: LiveNote[] = [];
  const groups: ComputeGroup[] = [];
  /** Compute group key of each instance: its own, or its auto scaling group's. */
  const memberOf = new Map<string, string>();

  for (const r of cluster.ofType('AWS::EC2::Instance')) {
    const located = facts.locate(r.physicalId, r.type);
    const instance = facts.instances.get(r.physicalId);
    if (isKnown(state.instances) && !instance) {
      notes.push({ resource: `${r.stack}/${r.logicalId}`, note: `instance ${r.physicalId} is gone (terminated or deleted outside CloudFormation); the stack still lists it` });
      continue;
    }
    memberOf.set(r.physicalId, located.key);
    const placements = instance ? instancePlacements(facts, instance) : [unknownPlacement(facts, `its instance could not be read: ${isKnown(state.instances) ? 'not returned' : state.instances.why}`)];
    groups.push({ ...located, type: 'AWS::EC2::Instance', role: roleFor(cluster, r.stack, r.logicalId, instance?.Tags), exists: yes(''), placements, unknownRegistrations: [] });
  }

  const asgs = state.autoScalingGroups;
  for (const r of cluster.ofType('AWS::AutoScaling::AutoScalingGroup')) {
    const located = facts.locate(r.physicalId, r.type);
    const group = isKnown(asgs) ? asgs.find((g) => g.AutoScalingGroupName === r.physicalId) : undefined;
    if (isKnown(asgs) && !group) {
      notes.push({ resource: `${r.stack}/${r.logicalId}`, note: `auto scaling group ${r.physicalId} is gone (deleted outside CloudFormation); the stack still lists it` });
      continue;
    }
    const members = (group?.Instances ?? []).map((i) => i.InstanceId).filter((i): i is string => i !== undefined);
    for (const id of members) memberOf.set(id, located.key);
    const placements = group
      ? [...members.flatMap((id) => (facts.instances.has(id) ? instancePlacements(facts, facts.instances.get(id)!) : [])), ...launchPlacements(facts, group)]
      : [unknownPlacement(facts, `the auto scaling group could not be read: ${isKnown(asgs) ? 'not returned' : asgs.why}`)];
    const tags = (group?.Tags ?? []) as TagDescription[];
    groups.push({ ...located, type: 'AWS::AutoScaling::AutoScalingGroup' as ComputeType, role: roleFor(cluster, r.stack, r.logicalId, tags), exists: yes(''), placements, unknownRegistrations: [] });
  }

  const { loadBalancers, unknownRegistrations } = liveLoadBalancers(facts, groups, memberOf, isKnown(asgs) ? asgs : []);
  const withRegistrations = groups.map((g) => ({ ...g, unknownRegistrations: [...g.unknownRegistrations, ...unknownRegistrations] }));
  return { model: { groups: withRegistrations, loadBalancers, securityGroups: facts.securityGroups() }, notes };
}
