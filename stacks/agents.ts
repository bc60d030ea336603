/**
 * The agents: private agents (DC/OS role `slave`) in the private zone, and public agents (`slave_public`) in
 * the public-agent zone behind an internet-facing load balancer that listens on 80 and 443 only. Neither group
 * gets a public address; both wait for every node's signal before the stack completes.
 */
import { masterAddresses, type ClusterConfig, type NodeGroupProps } from './config.js';
import { dcosNodeUserData, type DcosRole } from './bootstrap.js';
import { BUNDLE_URL_PARAMETER, BUNDLE_URL_PARAMETER_DECLARATION, bundleUrlStatement, instanceRole, launchTemplate, NODE_PARAMETERS } from './compute.js';
import { SecurityGroupIds, SubnetIds, type SecurityGroupName, type ZoneName } from './names.js';
import { PUBLIC_PORTS } from './network.js';
import { asgTags, Fn, GetAtt, output, Ref, resource, type CfnResource, type NodeRole, type StackTemplate } from '../lib/template.js';
import { AGENT_GROUP_WAIVERS, SINGLE_AZ_WAIVER, waivers } from './waivers.js';
import { networkLoadBalancer } from './load-balancer.js';

const AGENT_SIGNAL_TIMEOUT = 'PT45M';
const HEALTH_CHECK_GRACE_SECONDS = 2700;
/** The Mesos agent's port: the public load balancer checks agents there, whatever runs on 80/443. */
export const AGENT_HEALTH_PORT = 5051;

interface AgentGroupProps {
  readonly prefix: 'PrivateAgent' | 'PublicAgent';
  readonly label: string;
  readonly role: NodeRole;
  readonly dcosRole: DcosRole;
  readonly zone: ZoneName;
  readonly securityGroup: SecurityGroupName;
  readonly group: NodeGroupProps;
  readonly targetGroups?: readonly string[];
}

function agentGroup(config: ClusterConfig, props: AgentGroupProps): Record<string, CfnResource> {
  const groupId = `${props.prefix}Group`;
  const { count } = props.group;
  return {
    ...instanceRole({
      prefix: props.prefix,
      cluster: config.name,
      description: `DC/OS ${props.label}: Session Manager, and reading the bundle URL`,
      statements: [bundleUrlStatement()],
    }),
    [`${props.prefix}LaunchTemplate`]: launchTemplate({
      cluster: config.name,
      name: props.label,
      role: props.role,
      imageId: Ref('NodeImageId'),
      keyName: Ref('KeyName'),
      instanceType: props.group.instanceType,
      instanceProfile: `${props.prefix}InstanceProfile`,
      rootDeviceName: Ref('NodeRootDeviceName'),
      rootVolumeGiB: props.group.rootVolumeGiB,
      networkInterface: { securityGroupIds: [Ref(SecurityGroupIds.output(props.securityGroup))] },
      userData: dcosNodeUserData({
        role: props.dcosRole,
        resourceId: groupId,
        masterAddresses: masterAddresses(config),
        healthPort: AGENT_HEALTH_PORT,
      }),
    }),
    [groupId]: resource(
      'AWS::AutoScaling::AutoScalingGroup',
      {
        MinSize: String(count),
        // One spare, so a rolling update starts each new node before it stops an old one.
        MaxSize: String(count + 1),
        DesiredCapacity: String(count),
        VPCZoneIdentifier: Ref(SubnetIds.list(props.zone)),
        AvailabilityZones: Array.from({ length: config.availabilityZones }, (_, i) => Fn.az(i)),
        LaunchTemplate: {
          LaunchTemplateId: Ref(`${props.prefix}LaunchTemplate`),
          Version: GetAtt(`${props.prefix}LaunchTemplate`, 'LatestVersionNumber'),
        },
        ...(props.targetGroups ? { TargetGroupARNs: props.targetGroups.map((t) => Ref(t)) } : {}),
        // Public agents are replaced when the load balancer finds their Mesos agent unhealthy (port 5051);
        // private agents when EC2 does. The grace period covers the DC/OS install.
        HealthCheckType: props.targetGroups ? 'ELB' : 'EC2',
        HealthCheckGracePeriod: HEALTH_CHECK_GRACE_SECONDS,
        Tags: asgTags(config.name, props.label, props.role),
      },
      {
        ...waivers({ ...AGENT_GROUP_WAIVERS, ...(config.availabilityZones === 1 ? SINGLE_AZ_WAIVER : {}) }),
        CreationPolicy: { ResourceSignal: { Count: count, Timeout: AGENT_SIGNAL_TIMEOUT } },
        UpdatePolicy: {
          AutoScalingRollingUpdate: { MaxBatchSize: 1, MinInstancesInService: count, WaitOnResourceSignals: true, PauseTime: AGENT_SIGNAL_TIMEOUT },
        },
      },
    ),
  };
}

export function agentsStack(config: ClusterConfig): StackTemplate {
  const name = config.name;
  const resources: Record<string, CfnResource> = {
    ...agentGroup(config, {
      prefix: 'PrivateAgent',
      label: 'private-agent',
      role: 'private-agent',
      dcosRole: 'slave',
      zone: 'PrivateAgent',
      securityGroup: 'PrivateAgent',
      group: config.privateAgents,
    }),
    ...agentGroup(config, {
      prefix: 'PublicAgent',
      label: 'public-agent',
      role: 'public-agent',
      dcosRole: 'slave_public',
      zone: 'PublicAgent',
      securityGroup: 'PublicAgent',
      group: config.publicAgents,
      targetGroups: PUBLIC_PORTS.map((p) => `PublicTargets${p}`),
    }),
    ...networkLoadBalancer({
      cluster: name,
      id: 'Public',
      name: 'public-agents',
      scheme: 'internet-facing',
      subnets: Ref(SubnetIds.list('Public')),
      securityGroup: Ref(SecurityGroupIds.output('PublicLb')),
      ports: PUBLIC_PORTS,
      healthCheck: { port: AGENT_HEALTH_PORT, path: '/health' },
      preserveClientIp: true, // apps on public agents see who is calling
    }),
  };

  const subnetList = (what: string) => ({ Type: 'List<AWS::EC2::Subnet::Id>', Description: `${what} subnets, one per AZ` });
  const sg = (what: string) => ({ Type: 'AWS::EC2::SecurityGroup::Id', Description: `${what} security group` });
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `${name}: agents - ${config.privateAgents.count} private, ${config.publicAgents.count} public behind a load balancer on 80/443`,
    Parameters: {
      ...NODE_PARAMETERS,
      [BUNDLE_URL_PARAMETER]: BUNDLE_URL_PARAMETER_DECLARATION,
      VpcId: { Type: 'AWS::EC2::VPC::Id', Description: 'The cluster VPC' },
      [SubnetIds.list('Public')]: subnetList('Public'),
      [SubnetIds.list('PrivateAgent')]: subnetList('Private-agent'),
      [SubnetIds.list('PublicAgent')]: subnetList('Public-agent'),
      [SecurityGroupIds.output('PrivateAgent')]: sg('Private-agent'),
      [SecurityGroupIds.output('PublicAgent')]: sg('Public-agent'),
      [SecurityGroupIds.output('PublicLb')]: sg('Public load balancer'),
    },
    Resources: resources,
    Outputs: {
      PublicLoadBalancerDns: output('DNS name of the public agents load balancer (tcp 80 and 443)', GetAtt('PublicLoadBalancer', 'DNSName')),
    },
  };
}
