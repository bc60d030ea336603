/**
 * The deploy clients with aws-sdk-client-mock in front of CloudFormation, S3 and EC2, for the mock suites: STS
 * answers with `account`, the template bucket and every template in it exist, the DC/OS bundle has no genconf record
 * (S3's NoSuchKey). Each suite adds its own
 * CloudFormation answers.
 *
 * Also the fixture cluster (test/fixtures/deploy/cluster: a root with the nested stacks Network and Logs) as AWS
 * describes it once deployed as `prod`: its stack and change set ARNs, its root stack, and the changes CloudFormation
 * reports for it, shaped like the API's answers.
 */
import type { Change, Stack } from '@aws-sdk/client-cloudformation';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { EC2Client } from '@aws-sdk/client-ec2';
import { GetObjectCommand, HeadBucketCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient, type AwsStub } from 'aws-sdk-client-mock';
import type { AwsClients } from '../../lib/deploy/aws.js';

export interface MockedClients {
  readonly clients: AwsClients;
  readonly cfn: AwsStub<any, any, any>;
  readonly s3: AwsStub<any, any, any>;
  readonly ec2: AwsStub<any, any, any>;
}

export function mockedClients(account: string = ACCOUNT): MockedClients {
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
  s3.on(GetObjectCommand).rejects(Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }));
  return { clients, cfn, s3, ec2 };
}

/** The AWS account of the mock suites. */
export const ACCOUNT = '111122223333';

/** A stack's ARN in us-east-1, the nth of the suite. */
export const stackArn = (name: string, n: number) => `arn:aws:cloudformation:us-east-1:${ACCOUNT}:stack/${name}/1a2b3c4d-0000-4000-8000-${String(n).padStart(12, '0')}`;
/** A change set's ARN, the nth of the suite. */
export const changeSetArn = (name: string, n: number) => `arn:aws:cloudformation:us-east-1:${ACCOUNT}:changeSet/${name}/aaaaaaaa-0000-4000-8000-${String(n).padStart(12, '0')}`;

/** The fixture's root stack `prod` and its nested stacks. */
export const STACK_ID = stackArn('prod', 1);
export const NETWORK_ID = stackArn('prod-Network-1ABCDEF', 2);
export const LOGS_ID = stackArn('prod-Logs-2GHIJKL', 3);
/** A deploy's root change set and the nested change sets CloudFormation made for it. */
export const ROOT_CS = changeSetArn('dcos-cfn-1', 1);
export const NETWORK_CS = changeSetArn('dcos-cfn-1-Network-XYZ', 2);
export const LOGS_CS = changeSetArn('dcos-cfn-1-Logs-UVW', 3);
/** The default template bucket's URL for ACCOUNT in us-east-1. */
export const BASE_URL = `https://dcos-cfn-templates-${ACCOUNT}-us-east-1.s3.us-east-1.amazonaws.com`;

/** The fixture's root stack as DescribeStacks answers once it is deployed: protected, its parameters set. */
export function deployedStack(status: string, extra: Partial<Stack> = {}): Stack {
  return {
    StackId: STACK_ID,
    StackName: 'prod',
    StackStatus: status as Stack['StackStatus'],
    CreationTime: new Date('2026-01-01T00:00:00Z'),
    EnableTerminationProtection: true,
    Parameters: [
      { ParameterKey: 'TemplateBaseUrl', ParameterValue: BASE_URL },
      { ParameterKey: 'ClusterName', ParameterValue: 'prod' },
      { ParameterKey: 'CidrBlock', ParameterValue: '10.20.0.0/16' },
    ],
    ...extra,
  };
}

/** An SDK service error as the SDK builds it from an AWS answer (8 attempts: what the retries leave). */
export function serviceError(name: string, message: string, status: number, extra: object = {}): Error {
  return Object.assign(new Error(message), { name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status, attempts: 8 }, ...extra });
}

/** The root change set's entry for a nested stack whose template changed, pointing at its own change set. */
export function nestedStackChange(logicalId: string, physicalId: string, changeSetId: string): Change {
  return {
    Type: 'Resource',
    ResourceChange: {
      Action: 'Modify',
      LogicalResourceId: logicalId,
      PhysicalResourceId: physicalId,
      ResourceType: 'AWS::CloudFormation::Stack',
      Replacement: 'False',
      Scope: ['Properties'],
      ChangeSetId: changeSetId,
      Details: [{ Target: { Attribute: 'Properties', Name: 'TemplateURL', RequiresRecreation: 'Never' }, Evaluation: 'Static', ChangeSource: 'DirectModification' }],
    },
  };
}

/** The Network change set's entry for a VPC replaced by a new CIDR block. */
export const VPC_REPLACEMENT: Change = {
  Type: 'Resource',
  ResourceChange: {
    Action: 'Modify',
    LogicalResourceId: 'Vpc',
    PhysicalResourceId: 'vpc-0abc',
    ResourceType: 'AWS::EC2::VPC',
    Replacement: 'True',
    Scope: ['Properties'],
    Details: [{ Target: { Attribute: 'Properties', Name: 'CidrBlock', RequiresRecreation: 'Always' }, Evaluation: 'Static', ChangeSource: 'DirectModification' }],
  },
};
