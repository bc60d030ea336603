/**
 * The live audit against answers shaped like AWS's (aws-sdk-client-mock, field names and values as in the
 * EC2, Elastic Load Balancing, Auto Scaling and CloudFormation API references) for what moto cannot show
 * or shows differently: a network ACL entry, a blackholed route, an IPv6 path, a load balancer that
 * targets an address, a launch template changed by hand, a refused call, throttling that outlasts the
 * retries, a call that never answers.
 *
 * The cluster is a small one-stack fixture with the shapes of ours: a master and a VPN gateway as
 * instances, public agents in an auto scaling group behind an internet-facing NLB.
 */
import { AutoScalingClient, DescribeAutoScalingGroupsCommand, DescribeLaunchConfigurationsCommand, type AutoScalingGroup } from '@aws-sdk/client-auto-scaling';
import { CloudFormationClient, DescribeStacksCommand, GetTemplateCommand, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import {
  DescribeAddressesCommand,
  DescribeInstancesCommand,
  DescribeLaunchTemplateVersionsCommand,
  DescribeNetworkAclsCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSubnetsCommand,
  DescribeVpcsCommand,
  EC2Client,
  type Instance,
  type NetworkAcl,
  type ResponseLaunchTemplateData,
  type RouteTable,
  type SecurityGroupRule,
} from '@aws-sdk/client-ec2';
import { DescribeLoadBalancersCommand as DescribeClassicLoadBalancersCommand, ElasticLoadBalancingClient, type LoadBalancerDescription } from '@aws-sdk/client-elastic-load-balancing';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  type TargetHealthDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import assert from 'node:assert/strict';
import { auditLive, type LiveAuditResult } from '../lib/audit/live/audit.js';
import { LiveReader, type LiveClients } from '../lib/audit/live/aws.js';
import { describePaths } from '../lib/audit/exposure.js';
import { UserError } from '../lib/errors.js';

const ACCOUNT = '111122223333';
const STACK_ID = `arn:aws:cloudformation:us-east-1:${ACCOUNT}:stack/dcos-mock/5e1c0a70-0000-4000-8000-000000000001`;
const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' };

const ref = (id: string) => ({ Ref: id });
const TEMPLATE = {
  AWSTemplateFormatVersion: '2010-09-09',
  Parameters: { VpnClientCidr: { Type: 'String', Default: '0.0.0.0/0' } },
  Resources: {
    Vpc: { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.0.0.0/16' } },
    Igw: { Type: 'AWS::EC2::InternetGateway' },
    IgwAttachment: { Type: 'AWS::EC2::VPCGatewayAttachment', Properties: { VpcId: ref('Vpc'), InternetGatewayId: ref('Igw') } },
    PublicSubnet: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: ref('Vpc'), CidrBlock: '10.0.0.0/24', MapPublicIpOnLaunch: false } },
    PrivateSubnet: { Type: 'AWS::EC2::Subnet', Properties: { VpcId: ref('Vpc'), CidrBlock: '10.0.8.0/24', MapPublicIpOnLaunch: false } },
    PublicRoutes: { Type: 'AWS::EC2::RouteTable', Properties: { VpcId: ref('Vpc') } },
    PublicDefault: { Type: 'AWS::EC2::Route', Properties: { RouteTableId: ref('PublicRoutes'), DestinationCidrBlock: '0.0.0.0/0', GatewayId: ref('Igw') } },
    PublicAssociation: { Type: 'AWS::EC2::SubnetRouteTableAssociation', Properties: { SubnetId: ref('PublicSubnet'), RouteTableId: ref('PublicRoutes') } },
    PrivateRoutes: { Type: 'AWS::EC2::RouteTable', Properties: { VpcId: ref('Vpc') } },
    PrivateAssociation: { Type: 'AWS::EC2::SubnetRouteTableAssociation', Properties: { SubnetId: ref('PrivateSubnet'), RouteTableId: ref('PrivateRoutes') } },
    MasterGroup: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'masters', VpcId: ref('Vpc') } },
    VpnGroup: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'vpn', VpcId: ref('Vpc'), SecurityGroupIngress: [{ IpProtocol: 'udp', FromPort: 1194, ToPort: 1194, CidrIp: ref('VpnClientCidr') }] } },
    LbGroup: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'lb', VpcId: ref('Vpc'), SecurityGroupIngress: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, CidrIp: '0.0.0.0/0' }] } },
    AgentGroup: { Type: 'AWS::EC2::SecurityGroup', Properties: { GroupDescription: 'agents', VpcId: ref('Vpc') } },
    AgentFromLb: { Type: 'AWS::EC2::SecurityGroupIngress', Properties: { GroupId: ref('AgentGroup'), IpProtocol: 'tcp', FromPort: 80, ToPort: 80, SourceSecurityGroupId: ref('LbGroup') } },
    MasterFromVpn: { Type: 'AWS::EC2::SecurityGroupIngress', Properties: { GroupId: ref('MasterGroup'), IpProtocol: 'tcp', FromPort: 22, ToPort: 22, SourceSecurityGroupId: ref('VpnGroup') } },
    Master1: { Type: 'AWS::EC2::Instance', Properties: { ImageId: 'ami-12345678', SubnetId: ref('PrivateSubnet'), SecurityGroupIds: [ref('MasterGroup')], Tags: [{ Key: 'dcos:role', Value: 'master' }] } },
    Gateway: { Type: 'AWS::EC2::Instance', Properties: { ImageId: 'ami-12345678', SubnetId: ref('PublicSubnet'), SecurityGroupIds: [ref('VpnGroup')], Tags: [{ Key: 'dcos:role', Value: 'vpn' }] } },
    GatewayAddress: { Type: 'AWS::EC2::EIP', Properties: { Domain: 'vpc', InstanceId: ref('Gateway') } },
    AgentTemplate: {
      Type: 'AWS::EC2::LaunchTemplate',
      Properties: { LaunchTemplateData: { ImageId: 'ami-12345678', NetworkInterfaces: [{ DeviceIndex: 0, AssociatePublicIpAddress: false, Groups: [ref('AgentGroup')] }] } },
    },
    // No dcos:role tag here: the live group's own tag names the role.
    Agents: {
      Type: 'AWS::AutoScaling::AutoScalingGroup',
      Properties: { MinSize: '1', MaxSize: '2', VPCZoneIdentifier: [ref('PrivateSubnet')], LaunchTemplate: { LaunchTemplateId: ref('AgentTemplate'), Version: '1' }, TargetGroupARNs: [ref('AgentTargets')] },
    },
    Lb: { Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer', Properties: { Type: 'network', Scheme: 'internet-facing', Subnets: [ref('PublicSubnet')], SecurityGroups: [ref('LbGroup')] } },
    AgentTargets: { Type: 'AWS::ElasticLoadBalancingV2::TargetGroup', Properties: { Protocol: 'TCP', Port: 80, VpcId: ref('Vpc'), TargetType: 'instance' } },
    Listener80: { Type: 'AWS::ElasticLoadBalancingV2::Listener', Properties: { LoadBalancerArn: ref('Lb'), Protocol: 'TCP', Port: 80, DefaultActions: [{ Type: 'forward', TargetGroupArn: ref('AgentTargets') }] } },
  },
};

const LB_ARN = `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:loadbalancer/net/dcos-mock-Lb-1A2B3C/0123456789abcdef`;
const TG_ARN = `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:targetgroup/dcos-mock-Agent-4D5E6F/0123456789abcdef`;
const LISTENER_ARN = `arn:aws:elasticloadbalancing:us-east-1:${ACCOUNT}:listener/net/dcos-mock-Lb-1A2B3C/0123456789abcdef/fedcba9876543210`;

/** Physical IDs as CloudFormation gives them (an EIP's is its address, a route's a generated name). */
const PHYSICAL: Record<string, string> = {
  Vpc: 'vpc-0a1b2c3d4e5f60718',
  Igw: 'igw-0a1b2c3d4e5f60718',
  IgwAttachment: 'dcos-IgwAt-1Q2W3E4R5T6Y',
  PublicSubnet: 'subnet-0aaaaaaaaaaaaaaa1',
  PrivateSubnet: 'subnet-0bbbbbbbbbbbbbbb2',
  PublicRoutes: 'rtb-0aaaaaaaaaaaaaaa1',
  PublicDefault: 'dcos-Publi-7U8I9O0P1A2S',
  PublicAssociation: 'rtbassoc-0aaaaaaaaaaaaaaa1',
  PrivateRoutes: 'rtb-0bbbbbbbbbbbbbbb2',
  PrivateAssociation: 'rtbassoc-0bbbbbbbbbbbbbbb2',
  MasterGroup: 'sg-0aaaaaaaaaaaaaaa1',
  VpnGroup: 'sg-0bbbbbbbbbbbbbbb2',
  LbGroup: 'sg-0ccccccccccccccc3',
  AgentGroup: 'sg-0ddddddddddddddd4',
  AgentFromLb: 'sgr-0ddddddddddddddd4',
  MasterFromVpn: 'sgr-0aaaaaaaaaaaaaaa1',
  Master1: 'i-0aaaaaaaaaaaaaaa1',
  Gateway: 'i-0bbbbbbbbbbbbbbb2',
  GatewayAddress: '203.0.113.10',
  AgentTemplate: 'lt-0aaaaaaaaaaaaaaa1',
  Agents: 'dcos-mock-Agents-3D4F5G6H7J8K',
  Lb: LB_ARN,
  AgentTargets: TG_ARN,
  Listener80: LISTENER_ARN,
};
const P = (id: string) => PHYSICAL[id]!;

/** Everything AWS answers about the fixture as deployed; each test changes a copy. */
interface World {
  stackStatus: string;
  classic: LoadBalancerDescription[];
  instances: Instance[];
  rules: SecurityGroupRule[];
  routeTables: RouteTable[];
  acls: NetworkAcl[];
  launchTemplate: ResponseLaunchTemplateData;
  group: AutoScalingGroup;
  targets: TargetHealthDescription[];
}

const eni = (id: string, subnet: string, group: string, ip: string, extra: Record<string, unknown> = {}) => ({
  NetworkInterfaceId: id,
  SubnetId: P(subnet),
  VpcId: P('Vpc'),
  Groups: [{ GroupId: P(group), GroupName: `dcos-mock-${group}-1A2B` }],
  PrivateIpAddress: ip,
  PrivateIpAddresses: [{ Primary: true, PrivateIpAddress: ip, ...(extra['Association'] ? { Association: extra['Association'] } : {}) }],
  Ipv6Addresses: [],
  Attachment: { AttachmentId: `eni-attach-${id.slice(4)}`, DeviceIndex: 0, Status: 'attached' as const, DeleteOnTermination: true, NetworkCardIndex: 0 },
  Status: 'in-use' as const,
  ...extra,
});

const rule = (id: string, group: string, protocol: string, from: number, to: number, source: Partial<SecurityGroupRule>): SecurityGroupRule => ({
  SecurityGroupRuleId: id,
  GroupId: P(group),
  GroupOwnerId: ACCOUNT,
  IsEgress: false,
  IpProtocol: protocol,
  FromPort: from,
  ToPort: to,
  Tags: [],
  ...source,
});
const fromGroup = (group: string) => ({ ReferencedGroupInfo: { GroupId: P(group), UserId: ACCOUNT } });

function deployed(): World {
  const vpnAssociation = { IpOwnerId: ACCOUNT, PublicDnsName: 'ec2-203-0-113-10.compute-1.amazonaws.com', PublicIp: '203.0.113.10' };
  return {
    stackStatus: 'CREATE_COMPLETE',
    classic: [],
    instances: [
      { InstanceId: P('Master1'), State: { Code: 16, Name: 'running' }, SubnetId: P('PrivateSubnet'), VpcId: P('Vpc'), NetworkInterfaces: [eni('eni-0aaaaaaaaaaaaaaa1', 'PrivateSubnet', 'MasterGroup', '10.0.8.10')], Tags: [] },
      {
        InstanceId: P('Gateway'),
        State: { Code: 16, Name: 'running' },
        PublicIpAddress: '203.0.113.10',
        NetworkInterfaces: [eni('eni-0bbbbbbbbbbbbbbb2', 'PublicSubnet', 'VpnGroup', '10.0.0.20', { Association: vpnAssociation })],
        Tags: [],
      },
      { InstanceId: 'i-0ccccccccccccccc3', State: { Code: 16, Name: 'running' }, NetworkInterfaces: [eni('eni-0ccccccccccccccc3', 'PrivateSubnet', 'AgentGroup', '10.0.8.30')], Tags: [{ Key: 'dcos:role', Value: 'public-agent' }] },
    ],
    rules: [
      rule('sgr-0vpn0000000000001', 'VpnGroup', 'udp', 1194, 1194, { CidrIpv4: '0.0.0.0/0' }),
      rule('sgr-0lb00000000000001', 'LbGroup', 'tcp', 80, 80, { CidrIpv4: '0.0.0.0/0' }),
      rule('sgr-0ddddddddddddddd4', 'AgentGroup', 'tcp', 80, 80, fromGroup('LbGroup')),
      rule('sgr-0aaaaaaaaaaaaaaa1', 'MasterGroup', 'tcp', 22, 22, fromGroup('VpnGroup')),
      { ...rule('sgr-0egress000000001', 'MasterGroup', '-1', -1, -1, { CidrIpv4: '0.0.0.0/0' }), IsEgress: true },
    ],
    routeTables: [
      { RouteTableId: 'rtb-0main00000000001', VpcId: P('Vpc'), Associations: [{ Main: true, RouteTableAssociationId: 'rtbassoc-0main0000000001', RouteTableId: 'rtb-0main00000000001', AssociationState: { State: 'associated' } }], Routes: [{ DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local', Origin: 'CreateRouteTable', State: 'active' }] },
      {
        RouteTableId: P('PublicRoutes'),
        VpcId: P('Vpc'),
        Associations: [{ Main: false, RouteTableAssociationId: P('PublicAssociation'), RouteTableId: P('PublicRoutes'), SubnetId: P('PublicSubnet'), AssociationState: { State: 'associated' } }],
        Routes: [
          { DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local', Origin: 'CreateRouteTable', State: 'active' },
          { DestinationCidrBlock: '0.0.0.0/0', GatewayId: P('Igw'), Origin: 'CreateRoute', State: 'active' },
        ],
      },
      {
        RouteTableId: P('PrivateRoutes'),
        VpcId: P('Vpc'),
        Associations: [{ Main: false, RouteTableAssociationId: P('PrivateAssociation'), RouteTableId: P('PrivateRoutes'), SubnetId: P('PrivateSubnet'), AssociationState: { State: 'associated' } }],
        Routes: [
          { DestinationCidrBlock: '10.0.0.0/16', GatewayId: 'local', Origin: 'CreateRouteTable', State: 'active' },
          { DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: 'nat-0a1b2c3d4e5f60718', Origin: 'CreateRoute', State: 'active' },
        ],
      },
    ],
    acls: [
      {
        NetworkAclId: 'acl-0a1b2c3d4e5f60718',
        VpcId: P('Vpc'),
        IsDefault: true,
        Associations: ['PublicSubnet', 'PrivateSubnet'].map((s, i) => ({ NetworkAclAssociationId: `aclassoc-0${i}a1b2c3d4e5f6071`, NetworkAclId: 'acl-0a1b2c3d4e5f60718', SubnetId: P(s) })),
        Entries: [
          { RuleNumber: 100, Protocol: '-1', RuleAction: 'allow', Egress: false, CidrBlock: '0.0.0.0/0' },
          { RuleNumber: 32767, Protocol: '-1', RuleAction: 'deny', Egress: false, CidrBlock: '0.0.0.0/0' },
          { RuleNumber: 100, Protocol: '-1', RuleAction: 'allow', Egress: true, CidrBlock: '0.0.0.0/0' },
          { RuleNumber: 32767, Protocol: '-1', RuleAction: 'deny', Egress: true, CidrBlock: '0.0.0.0/0' },
        ],
      },
    ],
    launchTemplate: { ImageId: 'ami-12345678', NetworkInterfaces: [{ DeviceIndex: 0, AssociatePublicIpAddress: false, Groups: [P('AgentGroup')], DeleteOnTermination: true }] },
    group: {
      AutoScalingGroupName: P('Agents'),
      MinSize: 1,
      MaxSize: 2,
      DesiredCapacity: 1,
      DefaultCooldown: 300,
      AvailabilityZones: ['us-east-1a'],
      HealthCheckType: 'EC2',
      CreatedTime: new Date('2026-03-02T10:15:00.000Z'),
      LaunchTemplate: { LaunchTemplateId: P('AgentTemplate'), LaunchTemplateName: 'AgentTemplate-1A2B3C', Version: '1' },
      VPCZoneIdentifier: P('PrivateSubnet'),
      TargetGroupARNs: [TG_ARN],
      LoadBalancerNames: [],
      Instances: [{ InstanceId: 'i-0ccccccccccccccc3', AvailabilityZone: 'us-east-1a', LifecycleState: 'InService', HealthStatus: 'Healthy', ProtectedFromScaleIn: false }],
      Tags: [{ ResourceId: P('Agents'), ResourceType: 'auto-scaling-group', Key: 'dcos:role', Value: 'public-agent', PropagateAtLaunch: true }],
    },
    targets: [{ Target: { Id: 'i-0ccccccccccccccc3', Port: 80 }, HealthCheckPort: '80', TargetHealth: { State: 'healthy' } }],
  };
}

/** An error as the SDK raises it from an AWS error response. */
const awsError = (name: string, status: number, message: string, throttling = false) =>
  Object.assign(new Error(message), { name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status, attempts: 8 }, ...(throttling ? { $retryable: { throttling: true } } : {}) });

/** Mocked clients answering from a world: filters are honoured where the audit uses them. */
function mocked(world: World): { clients: LiveClients; ec2: ReturnType<typeof mockClient>; elbv2: ReturnType<typeof mockClient> } {
  const config = { region: 'us-east-1', credentials };
  const clients: LiveClients = {
    cfn: new CloudFormationClient(config),
    ec2: new EC2Client(config),
    elbv2: new ElasticLoadBalancingV2Client(config),
    elb: new ElasticLoadBalancingClient(config),
    autoscaling: new AutoScalingClient(config),
    region: 'us-east-1',
  };
  const cfn = mockClient(clients.cfn);
  cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackId: STACK_ID, StackName: 'dcos-mock', StackStatus: world.stackStatus as 'CREATE_COMPLETE', CreationTime: new Date('2026-03-02T10:15:00.000Z'), Parameters: [{ ParameterKey: 'VpnClientCidr', ParameterValue: '0.0.0.0/0' }] }] });
  cfn.on(ListStackResourcesCommand).resolves({
    StackResourceSummaries: Object.entries(TEMPLATE.Resources).map(([id, r]) => ({ LogicalResourceId: id, PhysicalResourceId: P(id), ResourceType: r.Type, ResourceStatus: 'CREATE_COMPLETE', LastUpdatedTimestamp: new Date('2026-03-02T10:15:00.000Z') })),
  });
  cfn.on(GetTemplateCommand).resolves({ TemplateBody: JSON.stringify(TEMPLATE), StagesAvailable: ['Original', 'Processed'] });
  const values = (input: { Filters?: { Name?: string; Values?: string[] }[] }, name: string) => input.Filters?.find((f) => f.Name === name)?.Values ?? [];
  const ec2 = mockClient(clients.ec2);
  ec2.on(DescribeInstancesCommand).callsFake((input) => ({ Reservations: [{ ReservationId: 'r-0a1b2c3d4e5f60718', OwnerId: ACCOUNT, Instances: world.instances.filter((i) => values(input, 'instance-id').includes(i.InstanceId!)) }] }));
  ec2.on(DescribeLaunchTemplateVersionsCommand).resolves({ LaunchTemplateVersions: [{ LaunchTemplateId: P('AgentTemplate'), VersionNumber: 1, DefaultVersion: true, LaunchTemplateData: world.launchTemplate }] });
  ec2.on(DescribeSubnetsCommand).resolves({
    Subnets: ['PublicSubnet', 'PrivateSubnet'].map((s, i) => ({ SubnetId: P(s), VpcId: P('Vpc'), CidrBlock: `10.0.${i * 8}.0/24`, MapPublicIpOnLaunch: false, AssignIpv6AddressOnCreation: false, AvailabilityZone: 'us-east-1a', State: 'available' })),
  });
  ec2.on(DescribeRouteTablesCommand).callsFake(() => ({ RouteTables: world.routeTables }));
  ec2.on(DescribeNetworkAclsCommand).callsFake(() => ({ NetworkAcls: world.acls }));
  ec2.on(DescribeVpcsCommand).resolves({ Vpcs: [{ VpcId: P('Vpc'), CidrBlock: '10.0.0.0/16', CidrBlockAssociationSet: [{ AssociationId: 'vpc-cidr-assoc-0a1b2c3d', CidrBlock: '10.0.0.0/16', CidrBlockState: { State: 'associated' } }], State: 'available' }] });
  ec2.on(DescribeSecurityGroupRulesCommand).callsFake((input) => ({ SecurityGroupRules: world.rules.filter((r) => values(input, 'group-id').includes(r.GroupId!)) }));
  ec2.on(DescribeAddressesCommand).resolves({
    Addresses: [{ PublicIp: '203.0.113.10', AllocationId: 'eipalloc-0a1b2c3d4e5f60718', AssociationId: 'eipassoc-0a1b2c3d4e5f60718', Domain: 'vpc', InstanceId: P('Gateway'), NetworkInterfaceId: 'eni-0bbbbbbbbbbbbbbb2', NetworkInterfaceOwnerId: ACCOUNT, PrivateIpAddress: '10.0.0.20' }],
  });
  const asg = mockClient(clients.autoscaling);
  asg.on(DescribeAutoScalingGroupsCommand).callsFake(() => ({ AutoScalingGroups: [world.group] }));
  asg.on(DescribeLaunchConfigurationsCommand).resolves({ LaunchConfigurations: [] });
  const elbv2 = mockClient(clients.elbv2);
  elbv2.on(DescribeLoadBalancersCommand).resolves({
    LoadBalancers: [{ LoadBalancerArn: LB_ARN, LoadBalancerName: 'dcos-mock-Lb-1A2B3C', Scheme: 'internet-facing', VpcId: P('Vpc'), Type: 'network', State: { Code: 'active' }, AvailabilityZones: [{ ZoneName: 'us-east-1a', SubnetId: P('PublicSubnet') }], SecurityGroups: [P('LbGroup')], IpAddressType: 'ipv4' }],
  });
  elbv2.on(DescribeListenersCommand).resolves({ Listeners: [{ ListenerArn: LISTENER_ARN, LoadBalancerArn: LB_ARN, Port: 80, Protocol: 'TCP', DefaultActions: [{ Type: 'forward', TargetGroupArn: TG_ARN, ForwardConfig: { TargetGroups: [{ TargetGroupArn: TG_ARN, Weight: 1 }] } }] }] });
  elbv2.on(DescribeTargetGroupsCommand).resolves({ TargetGroups: [{ TargetGroupArn: TG_ARN, TargetGroupName: 'dcos-mock-Agent-4D5E6F', Protocol: 'TCP', Port: 80, VpcId: P('Vpc'), TargetType: 'instance', LoadBalancerArns: [LB_ARN] }] });
  elbv2.on(DescribeTargetHealthCommand).callsFake(() => ({ TargetHealthDescriptions: world.targets }));
  elbv2.on(DescribeTargetGroupAttributesCommand).resolves({ Attributes: [{ Key: 'preserve_client_ip.enabled', Value: 'true' }, { Key: 'deregistration_delay.timeout_seconds', Value: '300' }] });
  mockClient(clients.elb).on(DescribeClassicLoadBalancersCommand).callsFake(() => ({ LoadBalancerDescriptions: world.classic }));
  return { clients, ec2, elbv2 };
}

const run = (world: World) => auditLive({ stackName: 'dcos-mock', aws: { region: 'us-east-1' }, clients: mocked(world).clients });
const exposureOf = (result: LiveAuditResult, resource: string) => describePaths(result.exposure.find((e) => e.resource === resource)!.paths);

describe('the live audit against answers shaped like AWS (aws-sdk-client-mock)', () => {
  before(() => {
    process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
  });

  it('as deployed: the same exposure as the templates, roles from template tags or the group\'s own tag, exit 0', async () => {
    const result = await run(deployed());
    assert.deepEqual(
      result.exposure.map((e) => [e.role, e.resource, describePaths(e.paths)]),
      [
        ['master', 'Master1', 'unreachable'],
        ['vpn', 'Gateway', 'udp 1194 direct'],
        ['public-agent', 'Agents', 'tcp 80 via Lb'],
      ],
    );
    assert.deepEqual([result.verdict, result.exitCode, result.drift, result.findings], ['clean', 0, [], []]);
  });

  it('a network ACL entry that denies the VPN port takes it off the internet: drift, narrower, exit 3', async () => {
    const world = deployed();
    world.acls[0]!.Entries!.unshift({ RuleNumber: 90, Protocol: '17', RuleAction: 'deny', Egress: false, CidrBlock: '0.0.0.0/0', PortRange: { From: 1194, To: 1194 } });
    const result = await run(world);
    assert.equal(exposureOf(result, 'Gateway'), 'unreachable');
    assert.deepEqual(result.drift.map((d) => [d.group, d.direction, d.lines]), [['Root/Gateway', 'narrower', ['udp 1194 direct: unreachable live, reachable in the template']]]);
    assert.deepEqual([result.verdict, result.exitCode], ['drift', 3]);
  });

  it('a master whose subnet was routed to the internet gateway, with an address and SSH open, is reachable; a blackholed route is not a way in', async () => {
    const world = deployed();
    const association = { IpOwnerId: ACCOUNT, PublicIp: '198.51.100.7', PublicDnsName: 'ec2-198-51-100-7.compute-1.amazonaws.com' };
    world.instances[0]!.NetworkInterfaces![0]!.Association = association;
    world.rules.push(rule('sgr-0byhand0000000001', 'MasterGroup', 'tcp', 22, 22, { CidrIpv4: '0.0.0.0/0', Description: 'incident 4711' }));
    world.routeTables[2]!.Routes!.push({ DestinationCidrBlock: '198.51.100.0/24', GatewayId: P('Igw'), Origin: 'CreateRoute', State: 'active' });
    const reachable = await run(world);
    assert.equal(exposureOf(reachable, 'Master1'), 'tcp 22 direct');
    assert.deepEqual(reachable.drift.find((d) => d.group === 'Root/Master1')?.lines, ['tcp 22 direct: reachable live, unreachable in the template']);
    assert.ok(reachable.findings.some((f) => f.rule === 'DCOS.EC2.2' && f.resource === 'MasterGroup rule sgr-0byhand0000000001 (not in the template)'), JSON.stringify(reachable.findings));
    assert.ok(reachable.findings.some((f) => f.rule === 'DCOS.EC2.1' && /public IP 198\.51\.100\.7/.test(f.message)));
    world.routeTables[2]!.Routes![2]!.State = 'blackhole';
    assert.equal(exposureOf(await run(world), 'Master1'), 'unreachable');
  });

  it('IPv6: an address on a master, a route for ::/0 to the internet gateway and a rule for ::/0 make it reachable, once the network ACL lets IPv6 in', async () => {
    const world = deployed();
    world.instances[0]!.NetworkInterfaces![0]!.Ipv6Addresses = [{ Ipv6Address: '2600:1f18:1234:5608::10', IsPrimaryIpv6: false }];
    world.routeTables[2]!.Routes!.push({ DestinationIpv6CidrBlock: '::/0', GatewayId: P('Igw'), Origin: 'CreateRoute', State: 'active' });
    world.rules.push(rule('sgr-0v6000000000001', 'MasterGroup', 'tcp', 8080, 8080, { CidrIpv6: '::/0' }));
    // The ACL has no IPv6 entries (a VPC without an IPv6 block): nothing gets in over IPv6 yet.
    assert.equal(exposureOf(await run(world), 'Master1'), 'unreachable');
    // With an IPv6 block, AWS's default ACL gets these two entries.
    world.acls[0]!.Entries!.push({ RuleNumber: 101, Protocol: '-1', RuleAction: 'allow', Egress: false, Ipv6CidrBlock: '::/0' }, { RuleNumber: 32768, Protocol: '-1', RuleAction: 'deny', Egress: false, Ipv6CidrBlock: '::/0' });
    const result = await run(world);
    assert.equal(exposureOf(result, 'Master1'), 'tcp 8080 direct');
    assert.ok(result.findings.some((f) => f.rule === 'DCOS.EC2.3' && /::\/0 on tcp 8080 \(Marathon\)/.test(f.message)));
  });

  it("a target registered by address is the instance that has it: the master behind the agents' load balancer", async () => {
    const world = deployed();
    world.targets.push({ Target: { Id: '10.0.8.10', Port: 80, AvailabilityZone: 'us-east-1a' }, HealthCheckPort: '80', TargetHealth: { State: 'healthy' } });
    world.rules.push(rule('sgr-0lbtomaster00001', 'MasterGroup', 'tcp', 80, 80, fromGroup('LbGroup')));
    const result = await run(world);
    assert.equal(exposureOf(result, 'Master1'), 'tcp 80 via Lb');
    assert.ok(result.findings.some((f) => f.rule === 'DCOS.EC2.4' && f.resource === 'Master1'));
  });

  it("a launch template version changed by hand counts for the group's next instances", async () => {
    const world = deployed();
    world.launchTemplate = { ...world.launchTemplate, NetworkInterfaces: [{ DeviceIndex: 0, AssociatePublicIpAddress: true, Groups: [P('AgentGroup')] }] };
    world.group = { ...world.group, VPCZoneIdentifier: `${P('PrivateSubnet')},${P('PublicSubnet')}` };
    world.rules.push(rule('sgr-0agent8080000001', 'AgentGroup', 'tcp', 8080, 8080, { CidrIpv4: '0.0.0.0/0' }));
    const result = await run(world);
    assert.equal(exposureOf(result, 'Agents'), 'tcp 8080 direct; tcp 80 via Lb');
    assert.ok(result.findings.some((f) => f.rule === 'DCOS.EC2.1' && /AssociatePublicIpAddress true/.test(f.message)), JSON.stringify(result.findings));
  });

  it('a classic load balancer made by hand in front of a master, which admits the VPC range on SSH: reachable through it', async () => {
    const world = deployed();
    world.classic.push({
      LoadBalancerName: 'ops-ssh',
      DNSName: 'ops-ssh-1234567890.us-east-1.elb.amazonaws.com',
      Scheme: 'internet-facing',
      VPCId: P('Vpc'),
      Subnets: [P('PublicSubnet')],
      SecurityGroups: ['sg-0eeeeeeeeeeeeeee5'],
      Instances: [{ InstanceId: P('Master1') }],
      ListenerDescriptions: [{ Listener: { Protocol: 'TCP', LoadBalancerPort: 2222, InstanceProtocol: 'TCP', InstancePort: 22 }, PolicyNames: [] }],
      AvailabilityZones: ['us-east-1a'],
    });
    world.rules.push(
      { ...rule('sgr-0classic00000001', 'VpnGroup', 'tcp', 2222, 2222, { CidrIpv4: '0.0.0.0/0' }), GroupId: 'sg-0eeeeeeeeeeeeeee5' },
      rule('sgr-0vpcrange0000001', 'MasterGroup', 'tcp', 22, 22, { CidrIpv4: '10.0.0.0/16' }),
    );
    const result = await run(world);
    assert.equal(exposureOf(result, 'Master1'), 'tcp 2222 via ops-ssh (not a stack resource)');
    assert.ok(result.findings.some((f) => f.rule === 'DCOS.EC2.2' && f.resource === 'MasterGroup rule sgr-0vpcrange0000001 (not in the template)'));
  });

  it('an instance terminated outside CloudFormation is a note and drift, not a crash', async () => {
    const world = deployed();
    world.instances.shift();
    const result = await run(world);
    assert.deepEqual(result.notes, [{ resource: 'Root/Master1', note: `instance ${P('Master1')} is gone (terminated or deleted outside CloudFormation); the stack still lists it` }]);
    assert.equal(result.exitCode, 3);
  });

  it('a stack being updated is said, and is not clean', async () => {
    const world = deployed();
    world.stackStatus = 'UPDATE_IN_PROGRESS';
    const result = await run(world);
    assert.deepEqual(result.notes, [{ resource: 'Root', note: 'stack dcos-mock is UPDATE_IN_PROGRESS: the live state may be between two templates; audit again when it is done' }]);
    assert.deepEqual([result.verdict, result.exitCode], ['drift', 3]);
  });

  it('access denied on one call: the facts it would give are open (may be reachable, naming the call), the others stay proved', async () => {
    const world = deployed();
    const { clients, ec2 } = mocked(world);
    ec2.on(DescribeSecurityGroupRulesCommand).rejects(awsError('UnauthorizedOperation', 403, `You are not authorized to perform this operation. User: arn:aws:iam::${ACCOUNT}:user/auditor is not authorized to perform: ec2:DescribeSecurityGroupRules because no identity-based policy allows the ec2:DescribeSecurityGroupRules action`));
    const result = await auditLive({ stackName: 'dcos-mock', aws: { region: 'us-east-1', profile: 'auditor' }, clients });
    assert.deepEqual(result.unreadable, [
      `Access denied: ec2:DescribeSecurityGroupRules was refused in us-east-1 (profile auditor) (AWS said: You are not authorized to perform this operation. User: arn:aws:iam::${ACCOUNT}:user/auditor is not authorized to perform: ec2:DescribeSecurityGroupRules because no identity-based policy allows the ec2:DescribeSecurityGroupRules action)`,
    ]);
    assert.equal(exposureOf(result, 'Gateway'), 'may be: all traffic direct (the current rules of VpnGroup could not be read: Access denied: ec2:DescribeSecurityGroupRules)');
    assert.equal(exposureOf(result, 'Master1'), 'unreachable', 'no address and no route: no rule could let the internet in');
    assert.equal(result.exitCode, 1);
  });

  it("listeners that cannot be read: any group may be behind the internet-facing load balancer, on whatever its group admits from it", async () => {
    const { clients, elbv2 } = mocked(deployed());
    elbv2.on(DescribeListenersCommand).rejects(awsError('AccessDenied', 403, `User: arn:aws:iam::${ACCOUNT}:user/auditor is not authorized to perform: elasticloadbalancing:DescribeListeners`));
    const result = await auditLive({ stackName: 'dcos-mock', aws: { region: 'us-east-1' }, clients });
    const why = '(the listeners of Lb could not be read: Access denied: elasticloadbalancing:DescribeListeners)';
    assert.equal(exposureOf(result, 'Agents'), `may be: tcp 80 via Lb ${why}`);
    // The master's group admits nothing from the load balancer's group or from the internet: still proved unreachable.
    assert.equal(exposureOf(result, 'Master1'), 'unreachable');
    assert.deepEqual(result.unreadable, [`Access denied: elasticloadbalancing:DescribeListeners was refused in us-east-1 (AWS said: User: arn:aws:iam::${ACCOUNT}:user/auditor is not authorized to perform: elasticloadbalancing:DescribeListeners)`]);
    assert.equal(result.exitCode, 1);
  });

  it('throttling that outlasts the retries ends the run with one line naming the call', async () => {
    const { clients, ec2 } = mocked(deployed());
    ec2.on(DescribeInstancesCommand).rejects(awsError('RequestLimitExceeded', 503, 'Request limit exceeded.', true));
    await assert.rejects(auditLive({ stackName: 'dcos-mock', aws: { region: 'us-east-1' }, clients }), (err: unknown) => {
      assert.ok(err instanceof UserError);
      assert.equal(err.message, 'AWS kept throttling ec2:DescribeInstances after 8 attempts with backoff. Wait a minute and run the command again.');
      return true;
    });
  });
});

describe('LiveReader: every call bounded, counted and named', () => {
  it('abandons a call that does not answer, naming it and the bound', async () => {
    const reader = new LiveReader({ region: 'us-east-1', callTimeoutMs: 50 });
    await assert.rejects(reader.read('ec2:DescribeInstances', () => new Promise(() => {})), /^UserError: ec2:DescribeInstances got no answer within 0 s from AWS in us-east-1\. Check the network/);
    assert.deepEqual(reader.calls, { 'ec2:DescribeInstances': 1 });
  });

  it('stops at the bound of the whole run, naming where it was', async () => {
    const reader = new LiveReader({ region: 'us-east-1', timeoutMs: 80, callTimeoutMs: 60_000 });
    await reader.read('ec2:DescribeSubnets', async () => ({}));
    await assert.rejects(reader.read('ec2:DescribeRouteTables', () => new Promise(() => {})), /^UserError: The live audit did not finish within 0 s \(ec2:DescribeRouteTables was still waiting for AWS in us-east-1\)\. Raise --timeout/);
    await assert.rejects(reader.read('ec2:DescribeNetworkAcls', async () => ({})), /stopped before ec2:DescribeNetworkAcls/);
  });

  it('follows every page, and stops when an endpoint repeats a token', async () => {
    const reader = new LiveReader({ region: 'us-east-1' });
    const tokens: (string | undefined)[] = [];
    const items = await reader.pages(
      'elasticloadbalancing:DescribeLoadBalancers',
      async (token) => {
        tokens.push(token);
        return { items: [tokens.length], next: token === 'b' ? 'b' : token === 'a' ? 'b' : 'a' };
      },
      (p) => p.items,
      (p) => p.next,
    );
    assert.deepEqual(items, [1, 2, 3]);
    assert.deepEqual(tokens, [undefined, 'a', 'b']);
    assert.deepEqual(reader.calls, { 'elasticloadbalancing:DescribeLoadBalancers': 3 });
  });

  it('a refused CloudFormation call ends the run: without the stacks there is nothing to audit', async () => {
    const reader = new LiveReader({ region: 'eu-west-1' });
    await assert.rejects(
      reader.call('cloudformation:GetTemplate', async () => {
        throw awsError('AccessDenied', 403, `User: arn:aws:iam::${ACCOUNT}:user/auditor is not authorized to perform: cloudformation:GetTemplate`);
      }),
      (err: unknown) => err instanceof UserError && err.message === `Access denied: cloudformation:GetTemplate was refused in eu-west-1 (AWS said: User: arn:aws:iam::${ACCOUNT}:user/auditor is not authorized to perform: cloudformation:GetTemplate). The live audit cannot go on without it.`,
    );
  });
});
