/**
 * The deploy clients with aws-sdk-client-mock in front of CloudFormation and S3, for the mock suites: STS
 * answers with `account`, the template bucket and every template in it exist. Each suite adds its own
 * CloudFormation answers.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { HeadBucketCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient, type AwsStub } from 'aws-sdk-client-mock';
import type { AwsClients } from '../../lib/deploy/aws.js';

export interface MockedClients {
  readonly clients: AwsClients;
  readonly cfn: AwsStub<any, any, any>;
  readonly s3: AwsStub<any, any, any>;
  readonly ec2: AwsStub<any, any, any>;
}

export function mockedClients(account: string): MockedClients {
  const clients: AwsClients = {
    cfn: new CloudFormationClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' } }),
    s3: new S3Client({ region: 'us-east-1' }),
    sts: new STSClient({ region: 'us-east-1' }),
    ec2: new EC2Client({ region: 'us-east-1' }),
    region: 'us-east-1',
    calls: {},
  };
  const cfn = mockClient(clients.cfn);
  const s3 = mockClient(clients.s3);
  const ec2 = mockClient(clients.ec2);
  mockClient(clients.sts).on(GetCallerIdentityCommand).resolves({ Account: account, Arn: `arn:aws:iam::${account}:user/ops`, UserId: 'AIDAEXAMPLE' });
  s3.on(HeadBucketCommand).resolves({});
  s3.on(HeadObjectCommand).resolves({});
  return { clients, cfn, s3, ec2 };
}
