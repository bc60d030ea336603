/**
 * The VPN: the only way in for admins. An OpenVPN gateway in the first public subnet behind a fixed Elastic IP,
 * reachable from the internet on one port. It makes its own certificates and uploads the admin client profile
 * to a KMS-encrypted, versioned, TLS-only bucket with all public access blocked; admins fetch it with IAM.
 */
import { masterAddresses, type ClusterConfig } from './config.js';
import { networkAndMask } from './cidr.js';
import { vpnGatewayUserData } from './bootstrap.js';
import { gatewayImageParameter, GATEWAY_ROOT_DEVICE, instanceRole, launchTemplate } from './compute.js';
import { SecurityGroupIds, SubnetIds } from './names.js';
import { Fn, GetAtt, output, Ref, RETAIN, resource, tags, type CfnResource, type StackTemplate } from '../lib/template.js';
import { PROFILE_BUCKET_WAIVERS, waivers } from './waivers.js';
import { denyInsecureTransport } from '../lib/tls-only.js';

/** Where the gateway writes the admin client profile inside the profile bucket. */
export const CLIENT_PROFILE_KEY = 'clients/admin.ovpn';

export function vpnStack(config: ClusterConfig): StackTemplate {
  const name = config.name;
  const { port, protocol } = config.vpn;
  const resources: Record<string, CfnResource> = {
    ProfileBucket: resource(
      'AWS::S3::Bucket',
      {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            { ServerSideEncryptionByDefault: { SSEAlgorithm: 'aws:kms', KMSMasterKeyID: Ref('KeyArn') }, BucketKeyEnabled: true },
          ],
        },
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        LifecycleConfiguration: {
          Rules: [
            {
              Id: 'expire-old-profiles',
              Status: 'Enabled',
              NoncurrentVersionExpiration: { NoncurrentDays: 30 },
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            },
          ],
        },
        NotificationConfiguration: { EventBridgeConfiguration: { EventBridgeEnabled: true } },
        Tags: tags(name, 'vpn-profiles'),
      },
      { ...RETAIN, ...waivers(PROFILE_BUCKET_WAIVERS) },
    ),
    ProfileBucketPolicy: resource('AWS::S3::BucketPolicy', {
      Bucket: Ref('ProfileBucket'),
      PolicyDocument: {
        Version: '2012-10-17',
        Statement: [denyInsecureTransport(GetAtt('ProfileBucket', 'Arn'), Fn.join('', [GetAtt('ProfileBucket', 'Arn'), '/*']))],
      },
    }),
    ...instanceRole({
      prefix: 'Vpn',
      cluster: name,
      description: 'OpenVPN gateway: writes the client profile, nothing else',
      statements: [
        { Effect: 'Allow', Action: 's3:PutObject', Resource: Fn.sub(`\${ProfileBucket.Arn}/${CLIENT_PROFILE_KEY}`) },
        { Effect: 'Allow', Action: ['kms:GenerateDataKey', 'kms:Encrypt'], Resource: Ref('KeyArn') },
      ],
    }),
    VpnLaunchTemplate: launchTemplate({
      cluster: name,
      name: 'vpn',
      role: 'vpn',
      imageId: Ref('GatewayImageId'),
      keyName: Ref('KeyName'),
      instanceType: config.vpn.instanceType,
      instanceProfile: 'VpnInstanceProfile',
      rootDeviceName: GATEWAY_ROOT_DEVICE,
      rootVolumeGiB: 20,
    }),
    // The address is attached to a network interface made before the instance, so the gateway reaches the
    // internet (packages, the profile upload) while it boots, and its endpoint never changes.
    VpnInterface: resource('AWS::EC2::NetworkInterface', {
      Description: `${name} OpenVPN gateway`,
      SubnetId: Fn.select(0, Ref(SubnetIds.list('Public'))),
      GroupSet: [Ref(SecurityGroupIds.output('Vpn'))],
      Tags: tags(name, 'vpn'),
    }),
    VpnAddress: resource('AWS::EC2::EIP', { Domain: 'vpc', Tags: tags(name, 'vpn') }),
    // The PKI (the CA signs every client profile) outlives the gateway instance.
    VpnState: resource(
      'AWS::EC2::Volume',
      { AvailabilityZone: Fn.az(0), Size: 1, VolumeType: 'gp3', Encrypted: true, Tags: tags(name, 'vpn-state') },
      RETAIN,
    ),
    VpnAddressAssociation: resource('AWS::EC2::EIPAssociation', {
      AllocationId: GetAtt('VpnAddress', 'AllocationId'),
      NetworkInterfaceId: Ref('VpnInterface'),
    }),
    VpnGateway: resource(
      'AWS::EC2::Instance',
      {
        LaunchTemplate: { LaunchTemplateId: Ref('VpnLaunchTemplate'), Version: GetAtt('VpnLaunchTemplate', 'LatestVersionNumber') },
        InstanceType: config.vpn.instanceType,
        Monitoring: true,
        // `npm run destroy` turns termination protection off for exactly these instances before deleting.
        DisableApiTermination: true,
        NetworkInterfaces: [{ NetworkInterfaceId: GetAtt('VpnInterface', 'Id'), DeviceIndex: '0' }],
        Volumes: [{ Device: '/dev/xvdf', VolumeId: Ref('VpnState') }],
        UserData: vpnGatewayUserData({
          resourceId: 'VpnGateway',
          port,
          protocol,
          clientNetwork: networkAndMask(config.vpn.clientCidr),
          vpcNetwork: networkAndMask(config.vpcCidr),
          vpcCidr: config.vpcCidr,
          clientCidr: config.vpn.clientCidr,
          dnsServers: masterAddresses(config),
          stateVolume: 'VpnState',
        }),
        Tags: tags(name, 'vpn', 'vpn'),
      },
      { DependsOn: ['VpnAddressAssociation', 'ProfileBucketPolicy'], CreationPolicy: { ResourceSignal: { Count: 1, Timeout: 'PT20M' } } },
    ),
  };

  return {
    AWSTemplateFormatVersion: '2010-09-09',
    Description: `${name}: VPN - OpenVPN gateway on ${protocol} ${port}, the only way in for admins`,
    Parameters: {
      KeyName: { Type: 'AWS::EC2::KeyPair::KeyName', Description: 'EC2 key pair for SSH through the VPN' },
      GatewayImageId: gatewayImageParameter(config),
      // A KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<key ID>): it is pasted into the gateway's user data.
      KeyArn: { Type: 'String', Description: 'KMS key that encrypts the client profiles', AllowedPattern: '^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$' },
      [SubnetIds.list('Public')]: { Type: 'List<AWS::EC2::Subnet::Id>', Description: 'Public subnets, one per AZ' },
      [SecurityGroupIds.output('Vpn')]: { Type: 'AWS::EC2::SecurityGroup::Id', Description: 'VPN gateway security group' },
    },
    Resources: resources,
    Outputs: {
      VpnEndpoint: output(`OpenVPN endpoint (${protocol} ${port})`, Fn.sub(`\${VpnAddress}:${port}/${protocol}`)),
      ProfileBucketName: output('Bucket holding the VPN client profiles', Ref('ProfileBucket')),
      VpnClientProfile: output(
        'Command that fetches the admin VPN client profile (needs s3:GetObject on the bucket and kms:Decrypt on the key)',
        Fn.sub(`aws s3 cp s3://\${ProfileBucket}/${CLIENT_PROFILE_KEY} dcos-admin.ovpn --region \${AWS::Region}`),
      ),
    },
  };
}
