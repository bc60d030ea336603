/**
 * What a drifted resource means for security, and which reported differences are not drift.
 *
 * Security relevance uses the list deploy's preview uses (lib/security-relevance.ts), so a change and a
 * drift of the same property are called out alike, plus one of drift's own: any drift of a master (the
 * `dcos:role` tag in the resource's expected properties).
 *
 * Not drift: CloudFormation compares a security group's actual rules with the rules its template
 * declares inline, and reports a rule declared by a separate AWS::EC2::SecurityGroupIngress/Egress
 * resource as added to the group (aws-cloudformation/cloudformation-coverage-roadmap#1198). Our
 * templates declare every rule that way, so such a difference is matched against the rule resources
 * of all the stacks and, when one declares exactly that rule on that group, explained by it.
 */
import type { StackResourceDrift } from '@aws-sdk/client-cloudformation';
import { securityNote } from '../security-relevance.js';
import { taggedRole } from '../template.js';

/** One property difference, as CloudFormation reports it (values are JSON text or plain strings). */
export interface PropertyDrift {
  /** JSON pointer into the resource's properties, `/SecurityGroupIngress/3`. */
  readonly path: string;
  readonly difference: 'ADD' | 'REMOVE' | 'NOT_EQUAL';
  readonly expected: string;
  readonly actual: string;
}

/** The resource's properties as CloudFormation expects them (parsed ExpectedProperties), or {}. */
export function expectedProperties(drift: StackResourceDrift): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(drift.ExpectedProperties ?? '{}');
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** The DC/OS role tag (`master`, `vpn`, ...) among the expected Tags, if any. */
export function roleOf(drift: StackResourceDrift): string | undefined {
  return taggedRole(expectedProperties(drift)['Tags']);
}

/** The top-level property a difference is in: `/SecurityGroupIngress/3/CidrIp` is in `SecurityGroupIngress`. */
export function topProperty(path: string): string {
  return path.split('/').filter(Boolean)[0] ?? path;
}

/** Why a drift matters for security (`security-group rules`, `a master`), or undefined. */
export function securityLabel(drift: StackResourceDrift, properties: readonly PropertyDrift[]): string | undefined {
  const type = drift.ResourceType ?? '';
  if (type === 'AWS::EC2::Instance' && roleOf(drift) === 'master') return 'a master';
  const names = [...new Set(properties.map((p) => topProperty(p.path)))];
  const deleted = drift.StackResourceDriftStatus === 'DELETED';
  return securityNote({
    ResourceType: type,
    Action: deleted ? 'Remove' : 'Modify',
    Details: names.map((Name) => ({ Target: { Attribute: 'Properties', Name } })),
  });
}

/** Fields that make two security-group rules the same rule (descriptions and owners aside). */
const RULE_FIELDS = [
  'IpProtocol',
  'FromPort',
  'ToPort',
  'CidrIp',
  'CidrIpv6',
  'SourceSecurityGroupId',
  'DestinationSecurityGroupId',
  'SourcePrefixListId',
  'DestinationPrefixListId',
] as const;

function ruleKey(groupId: string, direction: 'Ingress' | 'Egress', rule: Record<string, unknown>): string {
  const protocol = String(rule['IpProtocol'] ?? '').toLowerCase();
  const allPorts = protocol === '-1' || protocol === 'all';
  const fields = RULE_FIELDS.map((f) => {
    if (f === 'IpProtocol') return allPorts ? '-1' : protocol;
    if (allPorts && (f === 'FromPort' || f === 'ToPort')) return '';
    const v = rule[f];
    return v === undefined || v === null ? '' : String(v);
  });
  return [groupId, direction, ...fields].join('|');
}

/** A rule a separate AWS::EC2::SecurityGroupIngress/Egress resource declares, by rule key, with its address. */
export function declaredRules(resources: readonly { readonly stack: string; readonly drift: StackResourceDrift }[]): Map<string, string> {
  const rules = new Map<string, string>();
  for (const { stack, drift } of resources) {
    const direction = drift.ResourceType === 'AWS::EC2::SecurityGroupIngress' ? 'Ingress' : drift.ResourceType === 'AWS::EC2::SecurityGroupEgress' ? 'Egress' : undefined;
    if (!direction) continue;
    const props = expectedProperties(drift);
    const group = props['GroupId'];
    if (typeof group === 'string') rules.set(ruleKey(group, direction, props), `${stack}/${drift.LogicalResourceId}`);
  }
  return rules;
}

/**
 * The rule resource that explains a difference on a security group (an ADD of exactly the rule it
 * declares on this group), or undefined: then the difference is drift.
 */
export function explainedBy(drift: StackResourceDrift, property: PropertyDrift, rules: ReadonlyMap<string, string>): string | undefined {
  if (drift.ResourceType !== 'AWS::EC2::SecurityGroup' || property.difference !== 'ADD' || !drift.PhysicalResourceId) return undefined;
  const match = /^\/SecurityGroup(Ingress|Egress)\/\d+$/.exec(property.path);
  if (!match) return undefined;
  let rule: unknown;
  try {
    rule = JSON.parse(property.actual);
  } catch {
    return undefined;
  }
  if (rule === null || typeof rule !== 'object') return undefined;
  return rules.get(ruleKey(drift.PhysicalResourceId, match[1] as 'Ingress' | 'Egress', rule as Record<string, unknown>));
}
