/**
 * How CloudFormation updates each property of an AWS::EC2::Instance, from its resource schema (the CloudFormation
 * registry schema of AWS::EC2::Instance, github.com/aws-cloudformation/aws-cloudformation-resource-providers-ec2, as
 * cfn-lint 1.51 ships it in cfnlint/data/schemas/resources/; test/gate.test.ts holds this table equal to the schema
 * when cfn-lint is installed). The CloudFormation Template Reference says the same per property ("Update requires").
 *
 * - `createOnlyProperties`: a new value replaces the instance (the change set says Replacement True).
 * - `conditionalCreateOnlyProperties`: a new value stops and starts the instance ("Some interruptions"), or replaces
 *   it in some cases. A change set shows such a change as a Modify whose Details name the property, often with
 *   Replacement False: only this table tells it apart from an update without interruption.
 * - Everything else (Tags, Volumes, Monitoring, DisableApiTermination, IamInstanceProfile, ...) updates in place.
 */

/** Properties whose change replaces the instance. */
export const INSTANCE_REPLACEMENT_PROPERTIES: readonly string[] = [
  'AvailabilityZone',
  'CpuOptions',
  'ElasticGpuSpecifications',
  'ElasticInferenceAccelerators',
  'EnclaveOptions',
  'HibernationOptions',
  'HostResourceGroupArn',
  'ImageId',
  'Ipv6AddressCount',
  'Ipv6Addresses',
  'KeyName',
  'LaunchTemplate',
  'LicenseSpecifications',
  'NetworkInterfaces',
  'PlacementGroupName',
  'PrivateIpAddress',
  'SecurityGroups',
  'SubnetId',
];

/** Properties whose change stops and starts the instance (or replaces it). */
export const INSTANCE_INTERRUPTION_PROPERTIES: readonly string[] = [
  'AdditionalInfo',
  'Affinity',
  'BlockDeviceMappings',
  'EbsOptimized',
  'HostId',
  'InstanceType',
  'KernelId',
  'PrivateDnsNameOptions',
  'RamdiskId',
  'SecurityGroupIds',
  'Tenancy',
  'UserData',
];
