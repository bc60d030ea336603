/**
 * Security groups and their ingress rules, wherever the templates declare them: inline in
 * `AWS::EC2::SecurityGroup`, as `AWS::EC2::SecurityGroupIngress`, or added to a VPC's default group
 * (`!GetAtt Vpc.DefaultSecurityGroup`). A group the templates only name (an ID or a parameter) gets the
 * rules they add to it and is marked as possibly having others.
 */
import { allOf, maybe, yes, type Fact, type IngressRule, type Located, type SecurityGroup, type Source } from './model.js';
import { existence, located, prop, records, type Lookup } from './lookup.js';
import { portsOf, protocolOf } from './ranges.js';
import { describeItem, identityOf, itemsIn, resolvedProperties, ResourceRef, Unknown, type Item } from './resolve.js';

export class SecurityGroups {
  private readonly groups = new Map<string, SecurityGroup & { rules: IngressRule[] }>();
  private opened = 0;

  constructor(private readonly lookup: Lookup) {
    const defined = lookup.ofType('AWS::EC2::SecurityGroup');
    for (const sg of defined) this.entry(sg.key, sg.id);
    for (const sg of defined) {
      const exists = existence(sg);
      for (const raw of asRules(prop(sg, 'SecurityGroupIngress'))) this.groups.get(sg.key)!.rules.push(this.rule(located(sg), raw, exists));
    }
    for (const vpc of lookup.ofType('AWS::EC2::VPC')) {
      // A VPC's default group admits its own members on everything.
      const key = `${vpc.key}.DefaultSecurityGroup`;
      this.entry(key, `the default security group of ${vpc.id}`).rules.push({
        declaredIn: located(vpc),
        protocol: 'all',
        from: 0,
        to: 65535,
        source: { kind: 'group', group: key },
        exists: yes(''),
      });
    }
    for (const ingress of lookup.ofType('AWS::EC2::SecurityGroupIngress')) {
      const target = itemsIn(prop(ingress, 'GroupId') ?? prop(ingress, 'GroupName'))[0];
      if (target === undefined) continue;
      this.keyOf(target);
      this.groups.get(this.keyOf(target))!.rules.push(this.rule(located(ingress), resolvedProperties(ingress), existence(ingress)));
    }
  }

  private entry(key: string, name: string, unknown?: string): SecurityGroup & { rules: IngressRule[] } {
    let group = this.groups.get(key);
    if (!group) {
      group = { key, name, rules: [], ...(unknown ? { unknown } : {}) };
      this.groups.set(key, group);
    }
    return group;
  }

  /** The key of the group an item names; a group the templates do not define is registered as open. */
  keyOf(item: Item): string {
    const id = identityOf(item);
    const defined = item instanceof ResourceRef && (item.type === 'AWS::EC2::SecurityGroup' || item.attr === 'DefaultSecurityGroup');
    const key = id ?? `open security group ${++this.opened}`;
    if (!defined || !this.groups.has(key)) {
      const name = describeItem(item);
      this.entry(key, name, `security group ${name} is not defined in the templates: its rules are not known`);
    }
    return key;
  }

  /** A group standing for security groups nobody can know (`why`): it may admit anything. */
  open(why: string): string {
    const key = `open security group ${++this.opened}`;
    this.entry(key, 'its security groups', why);
    return key;
  }

  /** The default security group of a VPC (what instances and load balancers without groups get). */
  defaultOf(vpc: Item | undefined): string {
    if (vpc instanceof ResourceRef && this.groups.has(`${vpc.key}.DefaultSecurityGroup`)) return `${vpc.key}.DefaultSecurityGroup`;
    const name = vpc === undefined ? 'the VPC' : describeItem(vpc);
    const key = `default security group of ${name}`;
    this.entry(key, key, `no security group is given, so the default security group of ${name} applies, whose rules are not in the templates`);
    return key;
  }

  all(): ReadonlyMap<string, SecurityGroup> {
    return this.groups;
  }

  private source(raw: Record<string, unknown>): Source {
    for (const field of ['CidrIp', 'CidrIpv6']) {
      const cidr = raw[field];
      if (typeof cidr === 'string') return { kind: 'cidr', cidr };
      if (cidr instanceof Unknown) return { kind: 'unknown', why: `${field}: ${cidr.why}` };
    }
    const prefixList = itemsIn(raw['SourcePrefixListId'])[0];
    if (prefixList !== undefined) {
      const defined = this.lookup.resourceOf(prefixList, 'AWS::EC2::PrefixList');
      const cidrs = defined ? records(prop(defined, 'Entries')).map((e) => e['Cidr']) : [];
      const known = cidrs.every((c): c is string => typeof c === 'string');
      return { kind: 'prefix-list', name: describeItem(prefixList), ...(defined && known ? { cidrs } : {}) };
    }
    const group = itemsIn(raw['SourceSecurityGroupId'] ?? raw['SourceSecurityGroupName'])[0];
    if (group !== undefined) return { kind: 'group', group: this.keyOf(group) };
    return { kind: 'unknown', why: 'the rule names no source the templates pin down' };
  }

  private rule(declaredIn: Located, raw: Record<string, unknown> | Unknown, exists: Fact): IngressRule {
    if (raw instanceof Unknown) {
      return { declaredIn, protocol: 'all', from: 0, to: 65535, source: { kind: 'unknown', why: raw.why }, exists: allOf(exists, maybe(raw.why)), doubt: raw.why };
    }
    const protocolValue = raw['IpProtocol'];
    const { protocol, doubt } = protocolValue instanceof Unknown ? { protocol: 'all' as const, doubt: `IpProtocol: ${protocolValue.why}` } : protocolOf(protocolValue);
    const ports = portsOf(protocol, raw['FromPort'], raw['ToPort']);
    const why = [doubt, ports.doubt].filter((d): d is string => d !== undefined).join('; ');
    return { declaredIn, protocol, from: ports.from, to: ports.to, source: this.source(raw), exists, ...(why ? { doubt: why } : {}) };
  }
}

function asRules(value: unknown): (Record<string, unknown> | Unknown)[] {
  const items = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return items.filter((v): v is Record<string, unknown> | Unknown => v instanceof Unknown || (v !== null && typeof v === 'object'));
}
