/**
 * The root stack: the four nested stacks, wired explicitly by parameters and `!GetAtt Child.Outputs.X`, and the
 * cluster's outputs in the classic shape (dcos_cli, internal_master, public_slave, vpn) in CloudFormation naming.
 */
import { bundleUrl, masterAddresses, type ClusterConfig } from './config.js';
import { BUNDLE_URL_PARAMETER, DCOS_CLI_URL_PARAMETER, gatewayImageParameter, MASTER_PARAMETERS, MASTER_PARAMETER_SOURCES, NODE_PARAMETERS } from './compute.js';
import { SecurityGroupIds, StackIds, SubnetIds, type StackId } from './names.js';
import { CIDR_PATTERN } from './network.js';
import { TEMPLATE_BASE_URL_PARAMETER } from '../lib/manifest.js';
import { Fn, GetAtt, output, PARAMETER_DEFAULTS_KEY, Ref, resource, type CfnResource, type StackTemplate, type Value } from '../lib/template.js';

/** The root's SSM parameter that holds the DC/OS bundle URL; the nodes read it at boot. */
export const BUNDLE_URL_RESOURCE = 'BundleUrl';

/** The root template's Description: the definition's `description` with the cluster's shape. */
export function rootDescription(config: ClusterConfig): string {
  return `${config.name}: ${config.description} (${config.masters.count} master(s), ${config.privateAgents.count} private and ${config.publicAgents.count} public agent(s))`;
}

/** `!GetAtt Child.Outputs.Name`: the one way the root reads a nested stack. */
export function childOutput(stack: StackId, name: string) {
  return GetAtt(StackIds[stack], `Outputs.${name}`);
}

/**
 * @param templateKeys the content-hash key of each child template (see `templateKey`), appended to the
 *   `TemplateBaseUrl` parameter, so an unchanged child keeps its URL.
 */
export function rootStack(config: ClusterConfig, templateKeys: Readonly<Record<StackId, string>>): StackTemplate {
  const nested = (id: StackId, parameters: Record<string, Value<string>>): CfnResource =>
    resource('AWS::CloudFormation::Stack', {
      TemplateURL: Fn.sub(`\${${TEMPLATE_BASE_URL_PARAMETER}}/${templateKeys[id]}`),
      Parameters: parameters,
      Tags: [{ Key: 'dcos:cluster', Value: config.name }],
    });
  const fromNetwork = (name: string) => childOutput('Network', name);
  const passed = (names: readonly string[]) => Object.fromEntries(names.map((n) => [n, Ref(n)]));
  // The bundle URL's SSM parameter by name: its name never changes, so a new URL updates the SSM parameter only.
  const bundleUrlParameter = { [BUNDLE_URL_PARAMETER]: Ref(BUNDLE_URL_RESOURCE) };
  const securityGroup = (name: Parameters<typeof SecurityGroupIds.output>[0]) => ({
    [SecurityGroupIds.output(name)]: fromNetwork(SecurityGroupIds.output(name)),
  });
  const subnets = (zone: Parameters<typeof SubnetIds.list>[0]) => ({ [SubnetIds.list(zone)]: fromNetwork(SubnetIds.list(zone)) });

  const masters = masterAddresses(config);
  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: rootDescription(config),
    Metadata: {
      'AWS::CloudFormation::Interface': {
        ParameterGroups: [
          { Label: { default: 'DC/OS' }, Parameters: ['NodeImageId', 'NodeRootDeviceName', 'MasterImageId', 'MasterRootDeviceName', 'DcosCliUrl'] },
          { Label: { default: 'Access' }, Parameters: ['KeyName', 'MasterKeyName', 'VpnClientCidr', 'PublicIngressCidr', 'GatewayImageId'] },
          { Label: { default: 'Packaging' }, Parameters: [TEMPLATE_BASE_URL_PARAMETER] },
        ],
      },
      [PARAMETER_DEFAULTS_KEY]: MASTER_PARAMETER_SOURCES,
    },
    Rules: {
      Region: {
        Assertions: [
          {
            Assert: Fn.equals(Ref('AWS::Region'), config.region),
            AssertDescription: `Cluster '${config.name}' is defined for ${config.region}: its DC/OS bundle (bootstrap_url ${bundleUrl(config)}) is read through the VPC's S3 endpoint, which reaches only its own Region. Deploy it in ${config.region}, or set region in its definition and synth again.`,
          },
        ],
      },
    },
    Parameters: {
      [TEMPLATE_BASE_URL_PARAMETER]: {
        Type: 'String',
        Description: 'URL of the folder holding the nested templates (set by deploy and package), without a trailing slash',
        AllowedPattern: '^https?://[^\\s]+[^/\\s]$',
        ConstraintDescription: 'an http(s) URL without a trailing slash',
      },
      ...NODE_PARAMETERS,
      NodeRootDeviceName: { ...NODE_PARAMETERS.NodeRootDeviceName, Default: '/dev/sda1' },
      ...MASTER_PARAMETERS,
      DcosCliUrl: DCOS_CLI_URL_PARAMETER,
      GatewayImageId: gatewayImageParameter(config),
      VpnClientCidr: {
        Type: 'String',
        Description: `Addresses allowed to reach the OpenVPN port (${config.vpn.protocol} ${config.vpn.port}); narrow it to your office range if you can`,
        Default: '0.0.0.0/0',
        AllowedPattern: CIDR_PATTERN,
        ConstraintDescription: 'an IPv4 CIDR block',
      },
      PublicIngressCidr: {
        Type: 'String',
        Description: 'Addresses allowed to reach the public agents load balancer on tcp 80 and 443',
        Default: '0.0.0.0/0',
        AllowedPattern: CIDR_PATTERN,
        ConstraintDescription: 'an IPv4 CIDR block',
      },
    },
    Resources: {
      [StackIds.Network]: nested('Network', { VpnClientCidr: Ref('VpnClientCidr'), PublicIngressCidr: Ref('PublicIngressCidr') }),
      [BUNDLE_URL_RESOURCE]: resource('AWS::SSM::Parameter', {
        Name: Fn.sub('/dcos-cfn/${AWS::StackName}/bundle-url'),
        Type: 'String',
        Value: bundleUrl(config),
        Description: `Where the DC/OS nodes of ${config.name} fetch the install bundle (bootstrap_url of genconf/config.yaml)`,
        Tags: { 'dcos:cluster': config.name },
      }),
      [StackIds.MasterZone]: nested('MasterZone', {
        ...passed(['KeyName', ...Object.keys(MASTER_PARAMETERS), 'GatewayImageId', 'DcosCliUrl']),
        ...bundleUrlParameter,
        VpcId: fromNetwork('VpcId'),
        ...subnets('Master'),
        ...securityGroup('Master'),
        ...securityGroup('MasterLb'),
        ...securityGroup('Admin'),
      }),
      [StackIds.Agents]: nested('Agents', {
        ...passed(['KeyName', 'NodeImageId', 'NodeRootDeviceName']),
        ...bundleUrlParameter,
        VpcId: fromNetwork('VpcId'),
        ...subnets('Public'),
        ...subnets('PrivateAgent'),
        ...subnets('PublicAgent'),
        ...securityGroup('PrivateAgent'),
        ...securityGroup('PublicAgent'),
        ...securityGroup('PublicLb'),
      }),
      [StackIds.Vpn]: nested('Vpn', {
        KeyName: Ref('KeyName'),
        GatewayImageId: Ref('GatewayImageId'),
        KeyArn: fromNetwork('KeyArn'),
        ...subnets('Public'),
        ...securityGroup('Vpn'),
      }),
    },
    Outputs: {
      DcosCli: output(
        'The dcos-cli admin instance: connect the VPN, then SSH to it',
        Fn.sub('ssh ubuntu@${Address}', { Address: childOutput('MasterZone', 'AdminAddress') }),
      ),
      InternalMaster: output(
        'DC/OS UI and API through the internal master load balancer (through the VPN); http://leader.mesos works too',
        Fn.sub('http://${Dns}', { Dns: childOutput('MasterZone', 'MasterLoadBalancerDns') }),
      ),
      PublicSlave: output('DNS name of the public agents load balancer (tcp 80 and 443)', childOutput('Agents', 'PublicLoadBalancerDns')),
      Vpn: output('OpenVPN endpoint', childOutput('Vpn', 'VpnEndpoint')),
      VpnClientProfile: output('Fetch the admin VPN client profile with', childOutput('Vpn', 'VpnClientProfile')),
      MasterAddresses: output('Masters (static master_list for the DC/OS config.yaml)', masters.join(',')),
    },
  };
}
