/**
 * The master zone: masters at fixed private addresses spread over the AZs, each with a retained, encrypted state
 * volume; the internal master load balancer; the dcos-cli admin instance. Nothing here has a public address.
 */
import { masterAddresses, masterAz, type ClusterConfig } from './config.js';
import { adminUserData, dcosNodeUserData } from './bootstrap.js';
import {
  BUNDLE_URL_PARAMETER,
  BUNDLE_URL_PARAMETER_DECLARATION,
  bundleUrlStatement,
  DCOS_CLI_URL_PARAMETER,
  fixedInstance,
  gatewayImageParameter,
  GATEWAY_ROOT_DEVICE,
  instanceRole,
  launchTemplate,
  MASTER_PARAMETERS,
  NODE_PARAMETERS,
} from './compute.js';
import { networkLoadBalancer } from './load-balancer.js';
import { masterId, SecurityGroupIds, SubnetIds } from './names.js';
import { MASTER_LB_PORTS } from './network.js';
import { Fn, GetAtt, output, Ref, RETAIN, resource, tags, type CfnResource, type StackTemplate } from '../lib/template.js';

/** How long a master may take to install DC/OS and answer its health check. */
const MASTER_SIGNAL_TIMEOUT = 'PT45M';

export function masterZoneStack(config: ClusterConfig): StackTemplate {
  const name = config.name;
  const addresses = masterAddresses(config);
  const masterSubnet = (az: number) => Fn.select(az, Ref(SubnetIds.list('Master')));
  const resources: Record<string, CfnResource> = {
    ...instanceRole({ prefix: 'Master', cluster: name, description: 'DC/OS masters: Session Manager, and reading the bundle URL', statements: [bundleUrlStatement()] }),
    // The masters' own image, key and root device: rotating the agents' never touches the masters.
    MasterLaunchTemplate: launchTemplate({
      cluster: name,
      name: 'master',
      role: 'master',
      imageId: Ref('MasterImageId'),
      keyName: Ref('MasterKeyName'),
      instanceType: config.masters.instanceType,
      instanceProfile: 'MasterInstanceProfile',
      rootDeviceName: Ref('MasterRootDeviceName'),
      rootVolumeGiB: config.masters.rootVolumeGiB,
    }),
  };

  addresses.forEach((address, i) => {
    const id = masterId(i);
    const az = masterAz(config, i);
    resources[`${id}State`] = resource(
      'AWS::EC2::Volume',
      {
        AvailabilityZone: Fn.az(az),
        Size: config.masters.stateVolumeGiB,
        VolumeType: 'gp3',
        Encrypted: true,
        Tags: tags(name, `master-${i + 1}-state`),
      },
      RETAIN,
    );
    resources[id] = resource(
      'AWS::EC2::Instance',
      {
        ...fixedInstance({
          launchTemplate: 'MasterLaunchTemplate',
          instanceType: config.masters.instanceType,
          subnetId: masterSubnet(az),
          privateIp: address,
          securityGroupId: Ref(SecurityGroupIds.output('Master')),
        }),
        Volumes: [{ Device: '/dev/xvdf', VolumeId: Ref(`${id}State`) }],
        UserData: dcosNodeUserData({
          role: 'master',
          resourceId: id,
          masterAddresses: addresses,
          healthPort: 5050,
          stateVolume: `${id}State`,
        }),
        Tags: tags(name, `master-${i + 1}`, 'master'),
      },
      { CreationPolicy: { ResourceSignal: { Count: 1, Timeout: MASTER_SIGNAL_TIMEOUT } } },
    );
  });

  Object.assign(
    resources,
    networkLoadBalancer({
      cluster: name,
      id: 'Master',
      name: 'masters-internal',
      scheme: 'internal',
      subnets: Ref(SubnetIds.list('Master')),
      securityGroup: Ref(SecurityGroupIds.output('MasterLb')),
      ports: MASTER_LB_PORTS,
      targets: addresses.map((_, i) => masterId(i)),
      preserveClientIp: false, // masters are clients of this load balancer too
    }),
  );

  Object.assign(resources, instanceRole({ prefix: 'Admin', cluster: name, description: 'dcos-cli admin instance: Session Manager only' }));
  resources.AdminLaunchTemplate = launchTemplate({
    cluster: name,
    name: 'dcos-cli',
    role: 'admin',
    imageId: Ref('GatewayImageId'),
    keyName: Ref('KeyName'),
    instanceType: config.admin.instanceType,
    instanceProfile: 'AdminInstanceProfile',
    rootDeviceName: GATEWAY_ROOT_DEVICE,
    rootVolumeGiB: 20,
  });
  resources.AdminInstance = resource(
    'AWS::EC2::Instance',
    {
      ...fixedInstance({
        launchTemplate: 'AdminLaunchTemplate',
        instanceType: config.admin.instanceType,
        subnetId: masterSubnet(0),
        securityGroupId: Ref(SecurityGroupIds.output('Admin')),
      }),
      UserData: adminUserData({ resourceId: 'AdminInstance', dnsServers: addresses }),
      Tags: tags(name, 'dcos-cli', 'admin'),
    },
    { CreationPolicy: { ResourceSignal: { Count: 1, Timeout: 'PT20M' } } },
  );

  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `${name}: master zone - ${config.masters.count} master(s), internal master load balancer, dcos-cli instance`,
    Parameters: {
      KeyName: NODE_PARAMETERS.KeyName,
      ...MASTER_PARAMETERS,
      [BUNDLE_URL_PARAMETER]: BUNDLE_URL_PARAMETER_DECLARATION,
      GatewayImageId: gatewayImageParameter(config),
      DcosCliUrl: DCOS_CLI_URL_PARAMETER,
      VpcId: { Type: 'AWS::EC2::VPC::Id', Description: 'The cluster VPC' },
      [SubnetIds.list('Master')]: { Type: 'List<AWS::EC2::Subnet::Id>', Description: 'Master-zone subnets, one per AZ' },
      [SecurityGroupIds.output('Master')]: { Type: 'AWS::EC2::SecurityGroup::Id', Description: 'Master security group' },
      [SecurityGroupIds.output('MasterLb')]: { Type: 'AWS::EC2::SecurityGroup::Id', Description: 'Internal master load balancer security group' },
      [SecurityGroupIds.output('Admin')]: { Type: 'AWS::EC2::SecurityGroup::Id', Description: 'dcos-cli instance security group' },
    },
    Resources: resources,
    Outputs: {
      MasterLoadBalancerDns: output('DNS name of the internal master load balancer', GetAtt('MasterLoadBalancer', 'DNSName')),
      MasterAddresses: output('Fixed private addresses of the masters (the static master_list)', addresses.join(',')),
      AdminAddress: output('Private address of the dcos-cli instance', GetAtt('AdminInstance', 'PrivateIp')),
    },
  };
}
