/**
 * Building blocks every node shares: an instance role that grants only what the node needs, and a launch
 * template with IMDSv2 required and an encrypted root volume.
 */
import { instanceArchitecture, type ClusterConfig } from './config.js';
import { Fn, GetAtt, Ref, resource, tags, type CfnResource, type IntrinsicFunction, type NodeRole, type Value } from '../lib/template.js';

/** A statement in an IAM policy document. */
export interface PolicyStatement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action: string | readonly string[];
  readonly Resource: Value<string> | readonly Value<string>[];
  readonly Condition?: Record<string, Record<string, Value<string>>>;
}

/**
 * What Session Manager needs on an instance, instead of the AWS-managed AmazonSSMManagedInstanceCore (which
 * also grants documents, parameters, inventory, patching and Run Command's ec2messages). AWS Systems Manager
 * User Guide, "Create a custom IAM instance profile for Session Manager": ssm:UpdateInstanceInformation and
 * the four ssmmessages channel actions. None of them takes a resource ARN (Service Authorization Reference:
 * no resource types), so the resource is `*`; the condition key they support, `ec2:SourceInstanceARN`, limits
 * them to calls made by an EC2 instance of this account and region with these credentials (credentials
 * copied off the instance do not carry it).
 */
export function sessionManagerStatements(): PolicyStatement[] {
  const fromOwnInstances = { StringLike: { 'ec2:SourceInstanceARN': Fn.sub('arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*') } };
  return [
    {
      Sid: 'SessionManager',
      Effect: 'Allow',
      Action: ['ssm:UpdateInstanceInformation', 'ssmmessages:CreateControlChannel', 'ssmmessages:CreateDataChannel', 'ssmmessages:OpenControlChannel', 'ssmmessages:OpenDataChannel'],
      Resource: '*',
      Condition: fromOwnInstances,
    },
  ];
}

export interface InstanceRoleProps {
  /** Logical ID prefix: `<prefix>Role` and `<prefix>InstanceProfile`. */
  readonly prefix: string;
  readonly cluster: string;
  readonly description: string;
  /** What the node may do beyond Session Manager, e.g. write its VPN client profile. @default none */
  readonly statements?: readonly PolicyStatement[];
}

/**
 * An EC2 role and instance profile with inline policies only. Every node gets Session Manager (a break-glass
 * shell without opening SSH to anything, `sessionManagerStatements`); nothing else unless `statements` says so.
 */
export function instanceRole(props: InstanceRoleProps): Record<string, CfnResource> {
  const role = `${props.prefix}Role`;
  return {
    [role]: resource('AWS::IAM::Role', {
      Description: props.description,
      AssumeRolePolicyDocument: {
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      },
      Policies: [
        { PolicyName: 'session-manager', PolicyDocument: { Version: '2012-10-17', Statement: sessionManagerStatements() } },
        ...(props.statements?.length
          ? [{ PolicyName: `${props.prefix.toLowerCase()}-node`, PolicyDocument: { Version: '2012-10-17', Statement: props.statements } }]
          : []),
      ],
      Tags: tags(props.cluster, `${props.prefix.toLowerCase()}-role`),
    }),
    [`${props.prefix}InstanceProfile`]: resource('AWS::IAM::InstanceProfile', { Roles: [Ref(role)] }),
  };
}

export interface LaunchTemplateProps {
  readonly cluster: string;
  readonly name: string;
  readonly role: NodeRole;
  readonly imageId: Value<string>;
  /** The EC2 key pair for SSH. */
  readonly keyName: Value<string>;
  readonly instanceType: string;
  readonly instanceProfile: string;
  readonly rootDeviceName: Value<string>;
  readonly rootVolumeGiB: number;
  readonly userData?: IntrinsicFunction;
  /** Security groups for auto scaling groups; instances with fixed addresses set theirs on the instance. */
  readonly networkInterface?: { readonly securityGroupIds: readonly Value<string>[] };
}

/**
 * A launch template: IMDSv2 only (hop limit 1, so containers cannot reach it), detailed monitoring, encrypted gp3
 * root, no public IP.
 */
export function launchTemplate(props: LaunchTemplateProps): CfnResource {
  return resource('AWS::EC2::LaunchTemplate', {
    LaunchTemplateData: {
      ImageId: props.imageId,
      InstanceType: props.instanceType,
      KeyName: props.keyName,
      IamInstanceProfile: { Arn: GetAtt(props.instanceProfile, 'Arn') },
      MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 1 },
      Monitoring: { Enabled: true },
      EbsOptimized: true,
      BlockDeviceMappings: [
        {
          DeviceName: props.rootDeviceName,
          Ebs: { VolumeType: 'gp3', VolumeSize: props.rootVolumeGiB, Encrypted: true, DeleteOnTermination: true },
        },
      ],
      ...(props.networkInterface
        ? {
            NetworkInterfaces: [
              { DeviceIndex: 0, AssociatePublicIpAddress: false, DeleteOnTermination: true, Groups: [...props.networkInterface.securityGroupIds] },
            ],
          }
        : {}),
      ...(props.userData ? { UserData: props.userData } : {}),
      TagSpecifications: [
        { ResourceType: 'instance', Tags: tags(props.cluster, props.name, props.role) },
        { ResourceType: 'volume', Tags: tags(props.cluster, props.name, props.role) },
      ],
    },
    TagSpecifications: [{ ResourceType: 'launch-template', Tags: tags(props.cluster, props.name) }],
  });
}

const ROOT_DEVICE_PATTERN = '^/dev/[a-z0-9]+$';

/** The agents' image and root device, and the key pair of the agents, the VPN gateway and the dcos-cli instance. */
export const NODE_PARAMETERS = {
  KeyName: { Type: 'AWS::EC2::KeyPair::KeyName', Description: 'EC2 key pair for SSH through the VPN (agents, VPN gateway, dcos-cli instance)' },
  NodeImageId: { Type: 'AWS::EC2::Image::Id', Description: 'AMI for the DC/OS agents (a DC/OS-supported OS with its prerequisites)' },
  NodeRootDeviceName: { Type: 'String', Description: 'Root device name of the agent AMI', AllowedPattern: ROOT_DEVICE_PATTERN },
} as const;

/**
 * The masters' own image, root device and key pair, so that rotating the agents' image or key never touches a master
 * (a master's image or key is in its launch template, and a new launch template version replaces the instance).
 * Deploy sets each to its node counterpart's value when the stack is created (`PARAMETER_DEFAULTS_KEY` in the root's
 * Metadata); after that each keeps its own value.
 */
export const MASTER_PARAMETERS = {
  MasterImageId: { Type: 'AWS::EC2::Image::Id', Description: 'AMI for the DC/OS masters (at create: NodeImageId). A new value replaces every master: a maintenance operation, refused by deploy' },
  MasterRootDeviceName: { Type: 'String', Description: 'Root device name of the master AMI (at create: NodeRootDeviceName)', AllowedPattern: ROOT_DEVICE_PATTERN },
  MasterKeyName: { Type: 'AWS::EC2::KeyPair::KeyName', Description: 'EC2 key pair for SSH to the masters through the VPN (at create: KeyName)' },
} as const;

/** Each master parameter and the node parameter whose value it takes when the stack is created. */
export const MASTER_PARAMETER_SOURCES: Readonly<Record<keyof typeof MASTER_PARAMETERS, keyof typeof NODE_PARAMETERS>> = {
  MasterImageId: 'NodeImageId',
  MasterRootDeviceName: 'NodeRootDeviceName',
  MasterKeyName: 'KeyName',
};

/**
 * The stack parameter that names the SSM parameter holding the DC/OS bundle URL. DC/OS nodes read the URL at boot
 * from there, so a new bundle location changes the SSM parameter and nothing in any instance or launch template.
 */
export const BUNDLE_URL_PARAMETER = 'BundleUrlParameter';
export const BUNDLE_URL_PARAMETER_DECLARATION = {
  Type: 'String',
  Description: 'Name of the SSM parameter that holds the DC/OS bundle URL (bootstrap_url), read by the nodes at boot',
  AllowedPattern: '^/[A-Za-z0-9/_.-]+$',
} as const;

/** Lets a DC/OS node read the bundle URL's SSM parameter, and nothing else of SSM's parameters. */
export function bundleUrlStatement(): PolicyStatement {
  return {
    Sid: 'ReadBundleUrl',
    Effect: 'Allow',
    Action: 'ssm:GetParameter',
    Resource: Fn.sub(`arn:\${AWS::Partition}:ssm:\${AWS::Region}:\${AWS::AccountId}:parameter\${${BUNDLE_URL_PARAMETER}}`),
  };
}

/**
 * A URL a node downloads and runs as root, as a parameter's AllowedPattern: HTTPS only (plain http lets anyone on
 * the path swap the program in transit), a host name, an optional port, then path and query characters of RFC 3986
 * less the quotes, backslash, backtick, `$`, spaces, `<>{}|^` and `#`: the value is put into the user data by
 * `Fn::Sub` inside single quotes, and none of the allowed characters can end that quoting or be expanded by the shell.
 * Percent-encode anything else (a presigned S3 URL's query is already percent-encoded).
 */
const DOWNLOAD_URL_PATTERN = "https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%!*()+,;=:@/?&-]*)?";

/** `DcosCliUrl`: the dcos CLI binary the admin instance downloads and installs; empty to skip. */
export const DCOS_CLI_URL_PARAMETER = {
  Type: 'String',
  Description: 'HTTPS URL of the dcos CLI binary to install on the dcos-cli instance (no quotes, spaces or $); empty to skip',
  Default: '',
  MaxLength: 512,
  AllowedPattern: `^(${DOWNLOAD_URL_PATTERN})?$`,
  ConstraintDescription: "empty, or an https:// URL of letters, digits and . _ ~ % ! * ( ) + , ; = : @ / ? & - (percent-encode anything else)",
} as const;

/**
 * The Ubuntu 24.04 AMI for the VPN gateway and the admin instance, one image for both (validation holds their
 * instance types to one architecture), named for their architecture (`amd64` or `arm64`). A plain, pinned image ID,
 * not an SSM path: CloudFormation resolves SSM parameters again on every update, and a new image would replace the
 * VPN gateway (and with it the certificate authority) behind the operator's back. An image of the other
 * architecture is refused by EC2 at launch.
 */
export function gatewayImageParameter(config: ClusterConfig) {
  const arch = instanceArchitecture(config.vpn.instanceType) === 'arm64' ? 'arm64' : 'amd64';
  return {
    Type: 'AWS::EC2::Image::Id',
    Description: `Ubuntu 24.04 ${arch} AMI for the VPN gateway and the dcos-cli instance (${config.vpn.instanceType}, ${config.admin.instanceType}), pinned (aws ssm get-parameter --name /aws/service/canonical/ubuntu/server/24.04/stable/current/${arch}/hvm/ebs-gp3/ami-id)`,
  } as const;
}
export const GATEWAY_ROOT_DEVICE = '/dev/sda1';

export interface FixedInstanceProps {
  readonly launchTemplate: string;
  readonly instanceType: string;
  readonly subnetId: Value<string>;
  /** A fixed private address; otherwise the subnet assigns one. */
  readonly privateIp?: string;
  readonly securityGroupId: Value<string>;
}

/**
 * Properties of a single instance (masters at fixed addresses, the dcos-cli instance): its own network interface with no public address (the
 * form Control Tower's CT.EC2.PR.8 checks), the instance type stated on the instance (CT.EC2.PR.16/19 read it
 * there), detailed monitoring, termination protection (`npm run destroy` turns it off for exactly these
 * instances before deleting), everything else from its launch template.
 */
export function fixedInstance(props: FixedInstanceProps) {
  return {
    LaunchTemplate: { LaunchTemplateId: Ref(props.launchTemplate), Version: GetAtt(props.launchTemplate, 'LatestVersionNumber') },
    InstanceType: props.instanceType,
    Monitoring: true,
    DisableApiTermination: true,
    NetworkInterfaces: [
      {
        DeviceIndex: '0',
        SubnetId: props.subnetId,
        ...(props.privateIp ? { PrivateIpAddress: props.privateIp } : {}),
        GroupSet: [props.securityGroupId],
        AssociatePublicIpAddress: false,
        DeleteOnTermination: true,
      },
    ],
  };
}
