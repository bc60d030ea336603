/**
 * The event follower and the root causes it picks, with aws-sdk-client-mock answering as CloudFormation does for a
 * first create that fails fast: the nested stack fails, rolls back and is deleted within a second, before any poll
 * of the root has seen it running. Its events stay readable by its ARN (DescribeStackEvents takes a deleted
 * stack's ID), and its own failure is the root cause.
 */
import { DescribeStackEventsCommand, DescribeStacksCommand, type ResourceStatus, type StackEvent } from '@aws-sdk/client-cloudformation';
import assert from 'node:assert/strict';
import { followStack, rootCauses } from '../lib/deploy/progress.js';
import { mockedClients, stackArn } from './helpers/aws-mock.js';

const ROOT = stackArn('dcos-t', 11);
const NETWORK = stackArn('dcos-t-Network-1ABC', 12);
const SECURITY = stackArn('dcos-t-Network-1ABC-Security-2DEF', 13);
const since = new Date(Date.now() - 60_000);
let n = 0;
const event = (stackId: string, stackName: string, logicalId: string, type: string, status: string, physicalId: string, reason?: string): StackEvent => ({
  EventId: `e${++n}`,
  StackId: stackId,
  StackName: stackName,
  LogicalResourceId: logicalId,
  ResourceType: type,
  ResourceStatus: status as ResourceStatus,
  PhysicalResourceId: physicalId,
  Timestamp: new Date(since.getTime() + n * 1000),
  ...(reason ? { ResourceStatusReason: reason } : {}),
});
const embedded = (id: string, resource: string) => `Embedded stack ${id} was not successfully created: The following resource(s) failed to create: [${resource}]. `;

describe('progress: a nested stack that failed and was deleted before the follower saw it', () => {
  it("reports the nested stack's own first failure, read by its ARN, two levels deep, and prints its events", async () => {
    const { clients, cfn } = mockedClients();
    // Oldest first here; DescribeStackEvents answers newest first.
    const security = [
      event(SECURITY, 'dcos-t-Network-1ABC-Security-2DEF', 'BundleBucketPolicy', 'AWS::S3::BucketPolicy', 'CREATE_IN_PROGRESS', ''),
      event(SECURITY, 'dcos-t-Network-1ABC-Security-2DEF', 'BundleBucketPolicy', 'AWS::S3::BucketPolicy', 'CREATE_FAILED', '', 'The specified bucket does not exist (Service: S3, Status Code: 404)'),
      event(SECURITY, 'dcos-t-Network-1ABC-Security-2DEF', 'dcos-t-Network-1ABC-Security-2DEF', 'AWS::CloudFormation::Stack', 'DELETE_COMPLETE', SECURITY),
    ];
    const network = [
      event(NETWORK, 'dcos-t-Network-1ABC', 'Security', 'AWS::CloudFormation::Stack', 'CREATE_FAILED', SECURITY, embedded(SECURITY, 'BundleBucketPolicy')),
      event(NETWORK, 'dcos-t-Network-1ABC', 'dcos-t-Network-1ABC', 'AWS::CloudFormation::Stack', 'DELETE_COMPLETE', NETWORK),
    ];
    const root = [
      event(ROOT, 'dcos-t', 'Network', 'AWS::CloudFormation::Stack', 'CREATE_FAILED', NETWORK, embedded(NETWORK, 'Security')),
      event(ROOT, 'dcos-t', 'dcos-t', 'AWS::CloudFormation::Stack', 'ROLLBACK_COMPLETE', ROOT),
    ];
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackId: ROOT, StackName: 'dcos-t', StackStatus: 'ROLLBACK_COMPLETE', CreationTime: since }] });
    for (const [id, events] of [[ROOT, root], [NETWORK, network], [SECURITY, security]] as const) {
      cfn.on(DescribeStackEventsCommand, { StackName: id }).resolves({ StackEvents: [...events].reverse() });
    }
    const lines: string[] = [];
    const followed = await followStack({ cfn: clients.cfn, stack: 'dcos-t', since, print: (l) => lines.push(l), pollMs: 1 });

    assert.equal(followed.status, 'ROLLBACK_COMPLETE');
    assert.deepEqual(
      rootCauses(followed.events).map((c) => `${c.stack} ${c.logicalId}: ${c.reason}`),
      ['dcos-t-Network-1ABC-Security-2DEF BundleBucketPolicy: The specified bucket does not exist (Service: S3, Status Code: 404)'],
    );
    assert.ok(lines.some((l) => /CREATE_FAILED\s+Network\/Security\/BundleBucketPolicy\s.*The specified bucket does not exist/.test(l)), lines.join('\n'));
  });
});
