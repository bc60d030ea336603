/**
 * The preview: a tree of changes per stack (`+` add, `~` modify, `-` remove, `!` replace,
 * `?` maybe replace, `=` sync with live), with security-relevant changes called out, so a reviewer sees
 * at a glance whether the internet's view of the cluster changes. `=` is a drift-aware change set's
 * `SyncWithActual`: the new template matches the live resource, so CloudFormation only resets its drift
 * status (API reference, ResourceChange.Action); `Dynamic` ("can't be determined") shows as `?`.
 */
import type { ResourceChange } from '@aws-sdk/client-cloudformation';
import type { StackChanges } from './change-set.js';

export type ChangeMark = '+' | '~' | '-' | '!' | '?' | '=';

export function changeMark(change: ResourceChange): ChangeMark {
  if (change.Action === 'Add' || change.Action === 'Import') return '+';
  if (change.Action === 'Remove') return '-';
  if (change.Action === 'SyncWithActual') return '=';
  if (change.Action === 'Dynamic') return '?';
  if (change.Replacement === 'True') return '!';
  if (change.Replacement === 'Conditional') return '?';
  return '~';
}

/** Property names a change touches (empty when CloudFormation gave no details). */
function touched(change: ResourceChange): string[] {
  return [...new Set((change.Details ?? []).map((d) => d.Target?.Name).filter((n): n is string => n !== undefined))];
}

interface SecurityRule {
  readonly types: RegExp;
  /** Properties that matter on a Modify; undefined: any change to the resource matters. */
  readonly properties?: readonly string[];
  readonly label: string;
}

const SECURITY_RULES: readonly SecurityRule[] = [
  { types: /^AWS::EC2::SecurityGroup(Ingress|Egress)$/, label: 'security-group rule' },
  { types: /^AWS::EC2::SecurityGroup$/, properties: ['SecurityGroupIngress', 'SecurityGroupEgress'], label: 'security-group rules' },
  { types: /^AWS::IAM::/, label: 'IAM' },
  { types: /^AWS::ElasticLoadBalancingV2::LoadBalancer$/, properties: ['Scheme', 'Subnets', 'SecurityGroups'], label: 'load-balancer scheme' },
  { types: /^AWS::ElasticLoadBalancing::LoadBalancer$/, properties: ['Scheme', 'Listeners', 'Subnets', 'SecurityGroups'], label: 'load-balancer scheme and listeners' },
  { types: /^AWS::ElasticLoadBalancingV2::(Listener|ListenerRule)$/, label: 'load-balancer listener' },
  { types: /^AWS::EC2::(EIP|EIPAssociation)$/, label: 'public IP' },
  { types: /^AWS::EC2::Instance$/, properties: ['NetworkInterfaces', 'SubnetId', 'SecurityGroupIds', 'IamInstanceProfile'], label: 'public IP / network access' },
  { types: /^AWS::EC2::Subnet$/, properties: ['MapPublicIpOnLaunch'], label: 'public IP' },
  { types: /^AWS::EC2::LaunchTemplate$/, properties: ['LaunchTemplateData'], label: 'public IP / instance profile' },
  { types: /^AWS::AutoScaling::LaunchConfiguration$/, properties: ['AssociatePublicIpAddress', 'SecurityGroups', 'IamInstanceProfile'], label: 'public IP / network access' },
  { types: /^AWS::EC2::(Route|InternetGateway|VPCGatewayAttachment|NetworkAclEntry)$/, label: 'internet routing' },
  { types: /^AWS::EC2::ClientVpn/, label: 'VPN access' },
];

/** Why a change matters for security, or undefined. A Modify without details is flagged by type alone. */
export function securityNote(change: ResourceChange): string | undefined {
  const type = change.ResourceType ?? '';
  for (const rule of SECURITY_RULES) {
    if (!rule.types.test(type)) continue;
    if (change.Action !== 'Modify' || rule.properties === undefined) return rule.label;
    const props = touched(change);
    if (props.length === 0 || props.some((p) => rule.properties!.includes(p))) return rule.label;
  }
  return undefined;
}

function formatChange(change: ResourceChange, indent: string): string {
  const mark = changeMark(change);
  const props = change.Action === 'Modify' ? touched(change) : [];
  const detail = props.length ? `  (${props.join(', ')})` : '';
  const note = securityNote(change);
  return `${indent}${mark} ${(change.LogicalResourceId ?? '?').padEnd(32)} ${change.ResourceType ?? ''}${detail}${note ? `   [security: ${note}]` : ''}`;
}

export interface Preview {
  readonly text: string;
  /** Number of resource changes, nested stacks excluded. */
  readonly changeCount: number;
  /** Security-relevant changes, `Stack/LogicalId: label`. */
  readonly security: readonly string[];
}

/** Renders the change tree, nested stacks under their parents. */
export function renderPreview(tree: StackChanges): Preview {
  const lines: string[] = [];
  const security: string[] = [];
  let changeCount = 0;
  const walk = (stack: StackChanges, indent: string) => {
    for (const change of stack.changes) {
      const child = stack.children.find((c) => c.logicalId === change.LogicalResourceId);
      if (change.ResourceType === 'AWS::CloudFormation::Stack') {
        lines.push(`${indent}${changeMark(change)} ${change.LogicalResourceId} (nested stack)`);
        if (child) walk(child, `${indent}    `);
        continue;
      }
      changeCount++;
      lines.push(formatChange(change, indent));
      const note = securityNote(change);
      if (note) security.push(`${stack.path}/${change.LogicalResourceId}: ${note} (${changeMark(change)})`);
    }
  };
  lines.push(`${tree.logicalId}`);
  walk(tree, '  ');
  const legend = '  (+ add, ~ modify, - remove, ! replace, ? may replace, = sync with live)';
  const summary = security.length
    ? `\nSecurity-relevant changes (${security.length}): review who can reach the cluster.\n${security.map((s) => `  * ${s}`).join('\n')}`
    : '\nNo security-relevant changes (security groups, IAM, load balancers, public IPs).';
  return { text: `${lines.join('\n')}\n${legend}${summary}`, changeCount, security };
}
