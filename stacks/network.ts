/**
 * The network stack: VPC, the four zones per AZ, routing, NAT, flow logs, the cluster's KMS key, and every
 * security group with all its rules. The groups live here, in one place to review, because masters and agents
 * admit each other: split over the master-zone and agents stacks they would depend on each other in a cycle.
 */
import { masterReservation, partitionOf, type ClusterConfig } from './config.js';
import { denyInsecureTransport } from '../lib/tls-only.js';
import { Fn, GetAtt, Ref, RETAIN, resource, stringParameter, tags, output, type CfnResource, type StackTemplate } from '../lib/template.js';
import { SecurityGroupIds, SubnetIds, type SecurityGroupName, type ZoneName } from './names.js';

/** DC/OS ports a master serves through the internal load balancer: Admin Router, Mesos, Marathon, Exhibitor, ZooKeeper. */
export const MASTER_LB_PORTS = [80, 443, 5050, 8080, 8181, 2181] as const;
/** Ports an admin (through the VPN) or the dcos-cli instance may use on a master: SSH, Mesos-DNS, Admin Router. */
const MASTER_ADMIN_PORTS = [
  { proto: 'tcp', port: 22 },
  { proto: 'udp', port: 53 },
  { proto: 'tcp', port: 53 },
  { proto: 'tcp', port: 80 },
  { proto: 'tcp', port: 443 },
] as const;
/** The only ports the internet reaches on public agents, through their load balancer. */
export const PUBLIC_PORTS = [80, 443] as const;

interface Rule {
  readonly id: string;
  readonly to: SecurityGroupName;
  readonly from: SecurityGroupName | { readonly cidr: ReturnType<typeof Ref> };
  readonly proto: 'tcp' | 'udp' | '-1';
  readonly port?: number;
  readonly description: string;
}

const ALL = { proto: '-1' } as const;

/** Every ingress rule of the cluster. Sources are security groups, except the public edge (LB 80/443, VPN port). */
export function ingressRules(config: ClusterConfig): Rule[] {
  const rules: Rule[] = [];
  const add = (id: string, to: SecurityGroupName, from: Rule['from'], spec: { proto: Rule['proto']; port?: number }, description: string) =>
    rules.push({ id, to, from, ...spec, description });

  // Masters: from each other and from agents (DC/OS needs all ports between nodes), the internal LB, admins.
  add('MasterFromMaster', 'Master', 'Master', ALL, 'masters talk to each other on all ports');
  add('MasterFromPrivateAgent', 'Master', 'PrivateAgent', ALL, 'agents reach masters on all ports');
  add('MasterFromPublicAgent', 'Master', 'PublicAgent', ALL, 'public agents reach masters on all ports');
  for (const port of MASTER_LB_PORTS) add(`MasterFromMasterLb${port}`, 'Master', 'MasterLb', { proto: 'tcp', port }, `internal load balancer to masters on ${port}`);
  for (const { proto, port } of MASTER_ADMIN_PORTS) {
    const suffix = `${port}${proto === 'udp' ? 'Udp' : ''}`;
    add(`MasterFromVpn${suffix}`, 'Master', 'Vpn', { proto, port }, `VPN clients to masters on ${proto} ${port}`);
    add(`MasterFromAdmin${suffix}`, 'Master', 'Admin', { proto, port }, `dcos-cli instance to masters on ${proto} ${port}`);
  }
  // Internal master load balancer: agents, VPN clients and the dcos-cli instance.
  for (const port of MASTER_LB_PORTS) {
    add(`MasterLbFromPrivateAgent${port}`, 'MasterLb', 'PrivateAgent', { proto: 'tcp', port }, `agents to the master load balancer on ${port}`);
    add(`MasterLbFromPublicAgent${port}`, 'MasterLb', 'PublicAgent', { proto: 'tcp', port }, `public agents to the master load balancer on ${port}`);
  }
  for (const port of [80, 443]) {
    add(`MasterLbFromVpn${port}`, 'MasterLb', 'Vpn', { proto: 'tcp', port }, `VPN clients to the master load balancer on ${port}`);
    add(`MasterLbFromAdmin${port}`, 'MasterLb', 'Admin', { proto: 'tcp', port }, `dcos-cli instance to the master load balancer on ${port}`);
  }
  // Agents: from masters and each other on all ports; SSH only from the VPN and the dcos-cli instance.
  for (const agent of ['PrivateAgent', 'PublicAgent'] as const) {
    add(`${agent}FromMaster`, agent, 'Master', ALL, 'masters reach agents on all ports');
    add(`${agent}FromPrivateAgent`, agent, 'PrivateAgent', ALL, 'agents talk to each other on all ports');
    add(`${agent}FromPublicAgent`, agent, 'PublicAgent', ALL, 'agents talk to each other on all ports');
    add(`${agent}FromVpn22`, agent, 'Vpn', { proto: 'tcp', port: 22 }, 'SSH from VPN clients');
    add(`${agent}FromAdmin22`, agent, 'Admin', { proto: 'tcp', port: 22 }, 'SSH from the dcos-cli instance');
  }
  add('PublicAgentFromPublicLbHealth', 'PublicAgent', 'PublicLb', { proto: 'tcp', port: 5051 }, 'public load balancer health checks of the Mesos agent');
  for (const port of PUBLIC_PORTS) {
    add(`PublicAgentFromPublicLb${port}`, 'PublicAgent', 'PublicLb', { proto: 'tcp', port }, `public load balancer to public agents on ${port}`);
    add(`PublicLbFromInternet${port}`, 'PublicLb', { cidr: Ref('PublicIngressCidr') }, { proto: 'tcp', port }, `the internet to the public load balancer on ${port}`);
  }
  // The admin entry: the VPN port from the allowed range; SSH to the dcos-cli instance only through the VPN.
  add('VpnFromInternet', 'Vpn', { cidr: Ref('VpnClientCidr') }, { proto: config.vpn.protocol, port: config.vpn.port }, `OpenVPN on ${config.vpn.protocol} ${config.vpn.port}`);
  add('AdminFromVpn22', 'Admin', 'Vpn', { proto: 'tcp', port: 22 }, 'SSH to the dcos-cli instance from VPN clients');
  return rules;
}

const SECURITY_GROUPS: Record<SecurityGroupName, string> = {
  Master: 'DC/OS masters: reachable only from cluster security groups',
  MasterLb: 'Internal master load balancer',
  PrivateAgent: 'DC/OS private agents',
  PublicAgent: 'DC/OS public agents: the internet only through the public load balancer',
  PublicLb: 'Internet-facing load balancer for public agents: tcp 80 and 443',
  Vpn: 'OpenVPN gateway: one port from the allowed range',
  Admin: 'dcos-cli admin instance: SSH from VPN clients',
};

const ZONES: Record<ZoneName, { readonly label: string; readonly cidrs: (c: ClusterConfig) => readonly string[] }> = {
  Public: { label: 'public', cidrs: (c) => c.subnets.public },
  Master: { label: 'master-zone', cidrs: (c) => c.subnets.masterZone },
  PrivateAgent: { label: 'private-agents', cidrs: (c) => c.subnets.privateAgents },
  PublicAgent: { label: 'public-agents', cidrs: (c) => c.subnets.publicAgents },
};

export function networkStack(config: ClusterConfig): StackTemplate {
  const name = config.name;
  const azs = Array.from({ length: config.availabilityZones }, (_, i) => i);
  const natCount = config.natGatewayPerAz ? azs.length : 1;
  const resources: Record<string, CfnResource> = {};

  resources.ClusterKey = resource(
    'AWS::KMS::Key',
    {
      Description: `${name}: encrypts flow logs and the VPN client profiles`,
      EnableKeyRotation: true,
      PendingWindowInDays: 30,
      KeyPolicy: {
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AccountAdministers',
            Effect: 'Allow',
            Principal: { AWS: Fn.sub('arn:${AWS::Partition}:iam::${AWS::AccountId}:root') },
            Action: 'kms:*',
            Resource: '*',
          },
          {
            Sid: 'GrantsOnlyForAwsResources',
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 'kms:CreateGrant',
            Resource: '*',
            Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
          },
          {
            Sid: 'FlowLogsEncrypt',
            Effect: 'Allow',
            Principal: { Service: Fn.sub('logs.${AWS::Region}.amazonaws.com') },
            Action: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
            Resource: '*',
            Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': Fn.sub('arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:*') } },
          },
        ],
      },
      Tags: tags(name, 'key'),
    },
    RETAIN,
  );

  resources.Vpc = resource(
    'AWS::EC2::VPC',
    { CidrBlock: config.vpcCidr, EnableDnsSupport: true, EnableDnsHostnames: true, Tags: tags(name, 'vpc') },
    RETAIN,
  );
  resources.InternetGateway = resource('AWS::EC2::InternetGateway', { Tags: tags(name, 'igw') });
  resources.GatewayAttachment = resource('AWS::EC2::VPCGatewayAttachment', { VpcId: Ref('Vpc'), InternetGatewayId: Ref('InternetGateway') });
  resources.PublicRouteTable = resource('AWS::EC2::RouteTable', { VpcId: Ref('Vpc'), Tags: tags(name, 'public') });
  resources.PublicDefaultRoute = resource(
    'AWS::EC2::Route',
    { RouteTableId: Ref('PublicRouteTable'), DestinationCidrBlock: '0.0.0.0/0', GatewayId: Ref('InternetGateway') },
    { DependsOn: 'GatewayAttachment' },
  );

  for (const i of azs) {
    const n = i + 1;
    for (const [zone, { label, cidrs }] of Object.entries(ZONES) as [ZoneName, (typeof ZONES)[ZoneName]][]) {
      const id = SubnetIds.subnet(zone, n);
      resources[id] = resource(
        'AWS::EC2::Subnet',
        {
          VpcId: Ref('Vpc'),
          CidrBlock: cidrs(config)[i]!,
          AvailabilityZone: Fn.az(i),
          MapPublicIpOnLaunch: false,
          Tags: tags(name, `${label}-${n}`),
        },
        RETAIN,
      );
      resources[`${id}RouteTableAssociation`] = resource('AWS::EC2::SubnetRouteTableAssociation', {
        SubnetId: Ref(id),
        RouteTableId: Ref(zone === 'Public' ? 'PublicRouteTable' : `PrivateRouteTable${n}`),
      });
    }
    if (n <= natCount) {
      resources[`NatAddress${n}`] = resource('AWS::EC2::EIP', { Domain: 'vpc', Tags: tags(name, `nat-${n}`) }, { DependsOn: 'GatewayAttachment' });
      resources[`NatGateway${n}`] = resource('AWS::EC2::NatGateway', {
        AllocationId: GetAtt(`NatAddress${n}`, 'AllocationId'),
        SubnetId: Ref(SubnetIds.subnet('Public', n)),
        Tags: tags(name, `nat-${n}`),
      });
    }
    resources[`PrivateRouteTable${n}`] = resource('AWS::EC2::RouteTable', { VpcId: Ref('Vpc'), Tags: tags(name, `private-${n}`) });
    resources[`PrivateDefaultRoute${n}`] = resource('AWS::EC2::Route', {
      RouteTableId: Ref(`PrivateRouteTable${n}`),
      DestinationCidrBlock: '0.0.0.0/0',
      NatGatewayId: Ref(`NatGateway${Math.min(n, natCount)}`),
    });
  }

  // S3 through a gateway endpoint on every route table: the nodes fetch the DC/OS bundle without NAT (and its data
  // charges), and the bundle's bucket can admit this endpoint alone.
  const routeTables = [Ref('PublicRouteTable'), ...azs.map((i) => Ref(`PrivateRouteTable${i + 1}`))];
  resources.S3Endpoint = resource('AWS::EC2::VPCEndpoint', {
    VpcId: Ref('Vpc'),
    ServiceName: Fn.sub('com.amazonaws.${AWS::Region}.s3'),
    VpcEndpointType: 'Gateway',
    RouteTableIds: routeTables,
  });
  Object.assign(resources, bundleBucketPolicy(config));
  Object.assign(resources, masterAddressReservations(config));

  resources.FlowLogGroup = resource(
    'AWS::Logs::LogGroup',
    { RetentionInDays: config.flowLogRetentionDays, KmsKeyId: GetAtt('ClusterKey', 'Arn') },
    RETAIN,
  );
  resources.FlowLogRole = resource('AWS::IAM::Role', {
    Description: 'Lets VPC flow logs write to the flow log group',
    AssumeRolePolicyDocument: {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { Service: 'vpc-flow-logs.amazonaws.com' },
          Action: 'sts:AssumeRole',
          Condition: { StringEquals: { 'aws:SourceAccount': Ref('AWS::AccountId') } },
        },
      ],
    },
    Policies: [
      {
        PolicyName: 'write-flow-logs',
        PolicyDocument: {
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Action: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
              Resource: GetAtt('FlowLogGroup', 'Arn'),
            },
          ],
        },
      },
    ],
    Tags: tags(name, 'flow-logs'),
  });
  resources.VpcFlowLog = resource('AWS::EC2::FlowLog', {
    ResourceId: Ref('Vpc'),
    ResourceType: 'VPC',
    TrafficType: 'ALL',
    LogDestinationType: 'cloud-watch-logs',
    LogGroupName: Ref('FlowLogGroup'),
    DeliverLogsPermissionArn: GetAtt('FlowLogRole', 'Arn'),
    Tags: tags(name, 'flow-log'),
  });

  for (const [group, description] of Object.entries(SECURITY_GROUPS) as [SecurityGroupName, string][]) {
    resources[SecurityGroupIds.group(group)] = resource('AWS::EC2::SecurityGroup', {
      GroupDescription: description,
      VpcId: Ref('Vpc'),
      Tags: tags(name, `${group.replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase()}`),
    });
  }
  for (const rule of ingressRules(config)) {
    const source =
      typeof rule.from === 'string' ? { SourceSecurityGroupId: GetAtt(SecurityGroupIds.group(rule.from), 'GroupId') } : { CidrIp: rule.from.cidr };
    const ports = rule.proto === '-1' ? {} : { FromPort: rule.port!, ToPort: rule.port! };
    resources[`${rule.id}Ingress`] = resource('AWS::EC2::SecurityGroupIngress', {
      GroupId: GetAtt(SecurityGroupIds.group(rule.to), 'GroupId'),
      IpProtocol: rule.proto,
      ...ports,
      ...source,
      Description: rule.description,
    });
  }

  const joinSubnets = (zone: ZoneName) => Fn.join(',', azs.map((i) => Ref(SubnetIds.subnet(zone, i + 1))));
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `${name}: network - VPC, zones, routing, NAT, flow logs and security groups`,
    Parameters: {
      VpnClientCidr: stringParameter('Addresses allowed to reach the OpenVPN port', { AllowedPattern: CIDR_PATTERN, ConstraintDescription: 'an IPv4 CIDR block' }),
      PublicIngressCidr: stringParameter('Addresses allowed to reach the public agents load balancer on 80/443', {
        AllowedPattern: CIDR_PATTERN,
        ConstraintDescription: 'an IPv4 CIDR block',
      }),
    },
    Resources: resources,
    Outputs: {
      VpcId: output('The VPC', Ref('Vpc')),
      VpcCidr: output('The VPC range', GetAtt('Vpc', 'CidrBlock')),
      KeyArn: output('KMS key for logs and VPN client profiles', GetAtt('ClusterKey', 'Arn')),
      PublicSubnetIds: output('Public subnets, one per AZ', joinSubnets('Public')),
      MasterSubnetIds: output('Master-zone subnets, one per AZ', joinSubnets('Master')),
      PrivateAgentSubnetIds: output('Private-agent subnets, one per AZ', joinSubnets('PrivateAgent')),
      PublicAgentSubnetIds: output('Public-agent subnets, one per AZ', joinSubnets('PublicAgent')),
      ...Object.fromEntries(
        (Object.keys(SECURITY_GROUPS) as SecurityGroupName[]).map((g) => [
          SecurityGroupIds.output(g),
          output(`Security group: ${SECURITY_GROUPS[g]}`, GetAtt(SecurityGroupIds.group(g), 'GroupId')),
        ]),
      ),
    },
  };
}

/**
 * The policy of the DC/OS bundle's bucket (made by `npm run bundle`, outside the stacks): its objects may be read by
 * anyone whose request comes through this VPC's S3 endpoint, which is how `dcos_install.sh`'s
 * unsigned curl reads them, and by nobody else but the account's own principals with IAM permission. Requests without
 * TLS are refused. A fixed `aws:SourceVpce` makes the policy non-public, so the bucket keeps every Block Public
 * Access setting on (Amazon S3 User Guide, "The meaning of 'public'"; "Controlling access from VPC endpoints with
 * bucket policies"). The bucket must use SSE-S3: an object encrypted with KMS cannot be read by an unsigned request.
 */
function bundleBucketPolicy(config: ClusterConfig): Record<string, CfnResource> {
  // The definition's Region gives the partition, so the ARNs are plain strings (Control Tower's CT.S3.PR.8 reads them).
  const bucket = `arn:${partitionOf(config.region)}:s3:::${config.bundle.bucket}`;
  return {
    BundleBucketPolicy: resource('AWS::S3::BucketPolicy', {
      Bucket: config.bundle.bucket,
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [
          denyInsecureTransport(bucket, `${bucket}/*`),
          {
            Sid: 'ClusterNodesReadTheBundle',
            Effect: 'Allow',
            Principal: '*',
            Action: 's3:GetObject',
            // The whole bucket, which holds only this cluster's bundle: a new folder (bundle.prefix) then changes the
            // bundle URL's SSM parameter alone, not this stack.
            Resource: `${bucket}/*`,
            Condition: { StringEquals: { 'aws:SourceVpce': Ref('S3Endpoint') } },
          },
        ],
      },
    }),
  };
}

/** The masters' fixed addresses, reserved (explicit) in each master subnet that holds masters: `masterReservation`. */
function masterAddressReservations(config: ClusterConfig): Record<string, CfnResource> {
  const found: Record<string, CfnResource> = {};
  for (let az = 0; az < config.availabilityZones; az++) {
    const cidr = masterReservation(config, az);
    if (!cidr) continue;
    found[`MasterAddressReservation${az + 1}`] = resource('AWS::EC2::SubnetCidrReservation', {
      SubnetId: Ref(SubnetIds.subnet('Master', az + 1)),
      Cidr: cidr,
      ReservationType: 'explicit',
      Description: `${config.name}: the masters' fixed addresses; EC2 assigns none of them by itself`,
    });
  }
  return found;
}

/** An IPv4 CIDR block in canonical notation (octets 0-255 without leading zeros), for parameter AllowedPattern. */
export const CIDR_PATTERN = '^(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)(\\.(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}/(\\d|[12]\\d|3[0-2])$';
