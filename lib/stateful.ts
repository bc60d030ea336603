/**
 * Which resource types hold data, with what they hold: the one list that the audit's retention rule (DCOS.CFN.3,
 * lib/audit/rules.ts) and deploy's data gate and stack policies (lib/deploy/stateful.ts) start from. Each adds
 * what it needs beyond data, named there, so the two cannot drift apart.
 *
 * `snapshot`: CloudFormation can keep the data of this type with `DeletionPolicy`/`UpdateReplacePolicy: Snapshot`.
 * Only some types support it (AWS::EC2::Volume, AWS::ElastiCache::CacheCluster and ::ReplicationGroup,
 * AWS::RDS::DBInstance and ::DBCluster, AWS::Redshift::Cluster, AWS::Neptune::DBCluster: CloudFormation Template
 * Reference, "DeletionPolicy attribute"); on any other type Snapshot keeps nothing.
 */
interface DataType {
  /** What a resource of the type holds, as messages name it: "an EBS volume". */
  readonly holds: string;
  /** True when `Snapshot` is a deletion and replacement policy that keeps its data. */
  readonly snapshot: boolean;
}

export const DATA_TYPES: Readonly<Record<string, DataType>> = {
  'AWS::EC2::Volume': { holds: 'an EBS volume', snapshot: true },
  'AWS::S3::Bucket': { holds: 'an S3 bucket', snapshot: false },
  'AWS::Logs::LogGroup': { holds: 'a log group', snapshot: false },
  'AWS::KMS::Key': { holds: 'a KMS key', snapshot: false },
  'AWS::RDS::DBInstance': { holds: 'a database instance', snapshot: true },
  'AWS::RDS::DBCluster': { holds: 'a database cluster', snapshot: true },
  'AWS::DynamoDB::Table': { holds: 'a DynamoDB table', snapshot: false },
  'AWS::EFS::FileSystem': { holds: 'an EFS file system', snapshot: false },
  'AWS::SecretsManager::Secret': { holds: 'a secret', snapshot: false },
  'AWS::OpenSearchService::Domain': { holds: 'an OpenSearch domain', snapshot: false },
  'AWS::Backup::BackupVault': { holds: 'a backup vault', snapshot: false },
};
