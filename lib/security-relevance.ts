/**
 * Which changes to a resource matter for security: the one list deploy's preview (a change in a change set) and
 * drift (a property changed outside CloudFormation) both judge by, so a change and a drift of the same property are
 * called out alike. A rule names the resource types and, where only some properties matter, those properties (top
 * level, as a change set's `Target.Name` or the first segment of a drift's path); adding or removing a resource of
 * the type matters too (except for a bucket or a key: `modifyOnly`), and so does a change CloudFormation gave no property details for (unknown is not safe).
 *
 * What "matters": who can reach the cluster (security groups and rules, network ACLs, routes and gateways, load
 * balancers, their listeners and targets, public and Elastic IPs, network interfaces and their attachments, VPC
 * endpoints and their policies, the VPN), and who may act in the account (IAM roles, policies and instance profiles,
 * bucket policies and public-access settings, KMS key policies).
 */
import type { ResourceChange } from '@aws-sdk/client-cloudformation';

interface SecurityRule {
  readonly types: RegExp;
  /** Top-level properties that matter on a Modify; undefined: any change to the resource matters. */
  readonly properties?: readonly string[];
  /** What the change touches, in a few words: "security-group rules". */
  readonly label: string;
  /**
   * True when only a Modify of `properties` matters: adding or removing the resource does not (a bucket or a key is
   * data, the data gate's business). @default false
   */
  readonly modifyOnly?: boolean;
}

const SECURITY_RULES: readonly SecurityRule[] = [
  { types: /^AWS::EC2::SecurityGroup(Ingress|Egress)$/, label: 'security-group rule' },
  { types: /^AWS::EC2::SecurityGroup$/, properties: ['SecurityGroupIngress', 'SecurityGroupEgress'], label: 'security-group rules' },
  // Roles, policies, managed policies, instance profiles, users, groups: any change is a change of permissions.
  { types: /^AWS::IAM::/, label: 'IAM' },
  { types: /^AWS::ElasticLoadBalancingV2::LoadBalancer$/, properties: ['Scheme', 'Subnets', 'SubnetMappings', 'SecurityGroups'], label: 'load-balancer scheme' },
  { types: /^AWS::ElasticLoadBalancing::LoadBalancer$/, properties: ['Scheme', 'Listeners', 'Subnets', 'SecurityGroups'], label: 'load-balancer scheme and listeners' },
  { types: /^AWS::ElasticLoadBalancingV2::(Listener|ListenerRule|ListenerCertificate)$/, label: 'load-balancer listener' },
  { types: /^AWS::ElasticLoadBalancingV2::TargetGroup$/, properties: ['Targets', 'Port', 'Protocol', 'TargetType', 'VpcId', 'TargetGroupAttributes'], label: 'load-balancer targets' },
  { types: /^AWS::EC2::(EIP|EIPAssociation)$/, label: 'public IP' },
  { types: /^AWS::EC2::NetworkInterface$/, properties: ['GroupSet', 'SubnetId', 'PrivateIpAddress', 'PrivateIpAddresses', 'SourceDestCheck'], label: 'network interface' },
  { types: /^AWS::EC2::NetworkInterfaceAttachment$/, label: 'network interface' },
  { types: /^AWS::EC2::Instance$/, properties: ['NetworkInterfaces', 'SubnetId', 'SecurityGroupIds', 'SecurityGroups', 'IamInstanceProfile', 'SourceDestCheck'], label: 'public IP / network access' },
  { types: /^AWS::EC2::Subnet$/, properties: ['MapPublicIpOnLaunch'], label: 'public IP' },
  { types: /^AWS::EC2::LaunchTemplate$/, properties: ['LaunchTemplateData'], label: 'public IP / instance profile' },
  { types: /^AWS::AutoScaling::LaunchConfiguration$/, properties: ['AssociatePublicIpAddress', 'SecurityGroups', 'IamInstanceProfile'], label: 'public IP / network access' },
  {
    types: /^AWS::EC2::(Route|RouteTable|SubnetRouteTableAssociation|InternetGateway|EgressOnlyInternetGateway|VPCGatewayAttachment|NatGateway|NetworkAcl|NetworkAclEntry|SubnetNetworkAclAssociation)$/,
    label: 'internet routing',
  },
  { types: /^AWS::EC2::VPCEndpoint$/, properties: ['PolicyDocument', 'SecurityGroupIds', 'RouteTableIds', 'SubnetIds', 'ServiceName', 'PrivateDnsEnabled'], label: 'VPC endpoint' },
  { types: /^AWS::EC2::ClientVpn/, label: 'VPN access' },
  { types: /^AWS::S3::BucketPolicy$/, label: 'bucket policy' },
  { types: /^AWS::S3::Bucket$/, properties: ['PublicAccessBlockConfiguration', 'AccessControl', 'OwnershipControls', 'BucketEncryption'], label: 'bucket access', modifyOnly: true },
  { types: /^AWS::KMS::Key$/, properties: ['KeyPolicy', 'Enabled', 'KeySpec', 'KeyUsage'], label: 'key policy', modifyOnly: true },
];

/** Property names a change touches (empty when CloudFormation gave no details). */
export function touched(change: ResourceChange): string[] {
  return [...new Set((change.Details ?? []).map((d) => d.Target?.Name).filter((n): n is string => n !== undefined))];
}

/** Why a change matters for security, or undefined. A Modify without details is flagged by type alone. */
export function securityNote(change: ResourceChange): string | undefined {
  const type = change.ResourceType ?? '';
  for (const rule of SECURITY_RULES) {
    if (!rule.types.test(type)) continue;
    if (change.Action !== 'Modify' && rule.modifyOnly) continue;
    if (change.Action !== 'Modify' || rule.properties === undefined) return rule.label;
    const props = touched(change);
    if (props.length === 0 || props.some((p) => rule.properties!.includes(p))) return rule.label;
  }
  return undefined;
}
