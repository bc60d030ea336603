/**
 * Live facts the model is built from, indexed once: where a physical resource is (a stack resource is
 * named as the template audit names it, `Network/MasterSecurityGroup`; anything else by its ID, marked
 * as not a stack resource), security groups with their current ingress rules, and what a subnet means for
 * the internet's reach (public IP mapping, IPv6, the route table it uses now, its network ACL).
 *
 * A fact AWS did not give (a refused read, a resource missing from the answer) is `maybe`, with why.
 */
import type { NetworkAcl as Ec2NetworkAcl, Instance, RouteTable, SecurityGroupRule, Subnet } from '@aws-sdk/client-ec2';
import { anyOf, maybe, no, yes, type AclEntry, type Fact, type Family, type IngressRule, type Located, type NetworkAcl, type NetworkModel, type SecurityGroup, type Source } from '../model.js';
import { portsOf, protocolOf } from '../ranges.js';
import { isKnown, Unavailable, type Known } from './aws.js';
import type { LiveState } from './read.js';
import type { DeployedCluster } from './stacks.js';

/** The stack name given to resources that belong to no stack (found attached to one that does). */
export const OUTSIDE = 'outside the stacks';

export interface LiveSubnet {
  readonly name: string;
  readonly mapsPublicIpv4: Fact;
  readonly assignsIpv6: Fact;
  readonly routed: Readonly<Record<Family, Fact>>;
  readonly acl: NetworkAcl;
}

const byId = <T>(items: Known<T[]>, id: (item: T) => string | undefined): Map<string, T> =>
  new Map(isKnown(items) ? items.flatMap((i) => (id(i) ? [[id(i)!, i] as const] : [])) : []);

const why = (value: Known<unknown[]>, what: string) => (value instanceof Unavailable ? value.why : `${what} is not in what AWS returned`);

export class LiveFacts {
  readonly instances: Map<string, Instance>;
  private readonly subnets: Map<string, Subnet>;
  private readonly groups = new Map<string, SecurityGroup>();
  private readonly subnetCache = new Map<string, LiveSubnet>();

  constructor(
    readonly cluster: DeployedCluster,
    readonly state: LiveState,
    /** The template model, to tell a live rule declared in the templates from one added outside them. */
    private readonly templateModel: NetworkModel,
  ) {
    this.instances = byId(state.instances, (i) => i.InstanceId);
    this.subnets = byId(state.subnets, (s) => s.SubnetId);
  }

  /** A physical resource as the model locates it. */
  locate(physicalId: string, type: string, label = physicalId): Located {
    const owner = this.cluster.ownerOf(physicalId);
    if (!owner) return { key: physicalId, stack: OUTSIDE, file: '', resource: `${label} (not a stack resource)`, type };
    return { key: `${owner.stack}:${owner.logicalId}`, stack: owner.stack, file: this.stackName(owner.stack), resource: owner.logicalId, type: owner.type };
  }

  stackName(path: string): string {
    return this.cluster.stacks.find((s) => s.path === path)?.stackName ?? path;
  }

  /** How reports name a physical resource: its logical ID in the stacks, else its ID. */
  nameOf(physicalId: string): string {
    return this.cluster.ownerOf(physicalId)?.logicalId ?? physicalId;
  }

  /** The model key of a security group (registering it with its current ingress rules). */
  groupKey(groupId: string): string {
    const located = this.locate(groupId, 'AWS::EC2::SecurityGroup');
    if (this.groups.has(located.key)) return located.key;
    const name = this.cluster.ownerOf(groupId) ? located.resource : `${groupId} (not a stack resource)`;
    const group: { key: string; name: string; rules: IngressRule[]; unknown?: string } = { key: located.key, name, rules: [] };
    this.groups.set(located.key, group);
    const rules = this.state.securityGroupRules;
    if (!isKnown(rules)) group.unknown = `the current rules of ${name} could not be read: ${rules.why}`;
    else if (!groupId.startsWith('sg-')) group.unknown = `security group ${groupId} is named, not given by ID: its rules were not read`;
    else group.rules.push(...rules.filter((r) => r.GroupId === groupId && !r.IsEgress).map((r) => this.rule(located, name, r)));
    return located.key;
  }

  /** A group standing for security groups not known (`why`): it may admit anything. */
  openGroup(why: string): string {
    const key = `open security group ${this.groups.size + 1}`;
    this.groups.set(key, { key, name: 'its security groups', rules: [], unknown: why });
    return key;
  }

  securityGroups(): ReadonlyMap<string, SecurityGroup> {
    return this.groups;
  }

  private source(rule: SecurityGroupRule): Source {
    if (rule.CidrIpv4) return { kind: 'cidr', cidr: rule.CidrIpv4 };
    if (rule.CidrIpv6) return { kind: 'cidr', cidr: rule.CidrIpv6 };
    if (rule.PrefixListId) {
      const entries = this.state.prefixLists.get(rule.PrefixListId);
      return { kind: 'prefix-list', name: rule.PrefixListId, ...(entries && isKnown(entries) ? { cidrs: entries } : {}) };
    }
    const referenced = rule.ReferencedGroupInfo?.GroupId;
    if (referenced) return { kind: 'group', group: this.groupKey(referenced) };
    return { kind: 'unknown', why: `rule ${rule.SecurityGroupRuleId ?? ''} names no source AWS returned` };
  }

  /** A live rule, located at the template resource that declares it, or marked as added outside the templates. */
  private rule(group: Located, groupName: string, live: SecurityGroupRule): IngressRule {
    const { protocol, doubt } = protocolOf(live.IpProtocol);
    const ports = portsOf(protocol, live.FromPort, live.ToPort);
    const source = this.source(live);
    const declared = this.templateModel.securityGroups
      .get(group.key)
      ?.rules.find((r) => r.protocol === protocol && r.from === ports.from && r.to === ports.to && sameSource(r.source, source));
    const id = live.SecurityGroupRuleId ?? 'with no ID';
    const declaredIn: Located = declared
      ? { ...declared.declaredIn, key: `${declared.declaredIn.key} ${id}`, file: this.stackName(declared.declaredIn.stack) }
      : { key: id, stack: group.stack, file: group.file, resource: `${groupName} rule ${id} (not in the template)`, type: 'AWS::EC2::SecurityGroupRule' };
    return { declaredIn, protocol, from: ports.from, to: ports.to, source, exists: yes(''), ...(doubt ? { doubt } : {}) };
  }

  /** What a subnet means for the internet's reach, as it is now. */
  subnet(subnetId: string): LiveSubnet {
    const cached = this.subnetCache.get(subnetId);
    if (cached) return cached;
    const subnet = this.subnets.get(subnetId);
    const name = this.nameOf(subnetId);
    let facts: LiveSubnet;
    if (!subnet) {
      const open = maybe(`subnet ${name}: ${why(this.state.subnets, 'it')}`);
      facts = { name, mapsPublicIpv4: open, assignsIpv6: open, routed: { ipv4: open, ipv6: open }, acl: { name: `the network ACL of ${name}`, entries: [], unknown: open.why } };
    } else {
      const table = this.routeTable(subnet);
      facts = {
        name,
        mapsPublicIpv4: subnet.MapPublicIpOnLaunch ? yes(`subnet ${name} maps public IPs on launch`) : no(`subnet ${name} maps no public IPs`),
        assignsIpv6: subnet.AssignIpv6AddressOnCreation ? yes(`subnet ${name} assigns IPv6 addresses`) : no(`subnet ${name} assigns no IPv6 addresses`),
        routed: { ipv4: routedBy(table, 'ipv4', this), ipv6: routedBy(table, 'ipv6', this) },
        acl: this.acl(subnet, name),
      };
    }
    this.subnetCache.set(subnetId, facts);
    return facts;
  }

  /** The table a subnet uses: its explicit association, else its VPC's main table. */
  private routeTable(subnet: Subnet): Known<RouteTable | undefined> {
    const tables = this.state.routeTables;
    if (!isKnown(tables)) return tables;
    const associated = (t: RouteTable, test: (a: NonNullable<RouteTable['Associations']>[number]) => boolean) =>
      (t.Associations ?? []).some((a) => test(a) && a.AssociationState?.State !== 'disassociated');
    return tables.find((t) => associated(t, (a) => a.SubnetId === subnet.SubnetId)) ?? tables.find((t) => t.VpcId === subnet.VpcId && associated(t, (a) => a.Main === true));
  }

  private acl(subnet: Subnet, name: string): NetworkAcl {
    const acls = this.state.networkAcls;
    if (!isKnown(acls)) return { name: `the network ACL of ${name}`, entries: [], unknown: acls.why };
    const acl = acls.find((a) => (a.Associations ?? []).some((s) => s.SubnetId === subnet.SubnetId));
    if (!acl) return { name: `the network ACL of ${name}`, entries: [], unknown: `no network ACL of subnet ${name} is in what AWS returned` };
    return { name: this.nameOf(acl.NetworkAclId ?? ''), entries: aclEntries(acl) };
  }
}

function sameSource(a: Source, b: Source): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'cidr' && b.kind === 'cidr') return a.cidr === b.cidr;
  if (a.kind === 'group' && b.kind === 'group') return a.group === b.group;
  if (a.kind === 'prefix-list' && b.kind === 'prefix-list') return a.name === b.name;
  return false;
}

function routedBy(table: Known<RouteTable | undefined>, family: Family, facts: LiveFacts): Fact {
  if (!isKnown(table)) return maybe(`its route table could not be read: ${table.why}`);
  if (!table) return maybe('no route table of its VPC is in what AWS returned');
  const name = facts.nameOf(table.RouteTableId ?? '');
  const routes = (table.Routes ?? []).filter((r) => r.State !== 'blackhole' && r.GatewayId?.startsWith('igw-'));
  const found = routes
    .filter((r) => (family === 'ipv4' ? r.DestinationCidrBlock !== undefined || r.DestinationPrefixListId !== undefined : r.DestinationIpv6CidrBlock !== undefined))
    .map((r) => yes(`route table ${name} sends ${r.DestinationCidrBlock ?? r.DestinationIpv6CidrBlock ?? r.DestinationPrefixListId} to internet gateway ${facts.nameOf(r.GatewayId!)}`));
  return anyOf(found, `route table ${name} has no route to an internet gateway`);
}

function aclEntries(acl: Ec2NetworkAcl): AclEntry[] {
  return (acl.Entries ?? [])
    .filter((e) => !e.Egress)
    .map((e): AclEntry => {
      const { protocol } = protocolOf(e.Protocol);
      const cidr = e.CidrBlock ?? e.Ipv6CidrBlock;
      return { number: e.RuleNumber ?? 0, allow: e.RuleAction === 'allow', protocol, ...portsOf(protocol, e.PortRange?.From, e.PortRange?.To), ...(cidr ? { cidr } : {}) };
    })
    .sort((a, b) => a.number - b.number);
}
