/**
 * What moto cannot show, with aws-sdk-client-mock answering like the CloudFormation API does:
 * replacement details, nested change set IDs, pagination, per-resource events and rollbacks,
 * stacks in failed or in-progress states.
 */
import {
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  DescribeStackEventsCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  GetStackPolicyCommand,
  GetTemplateCommand,
  ListChangeSetsCommand,
  ListStackResourcesCommand,
  SetStackPolicyCommand,
  UpdateTerminationProtectionCommand,
  type Change,
  type Stack,
  type StackEvent,
} from '@aws-sdk/client-cloudformation';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { AwsStub } from 'aws-sdk-client-mock';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { UserError } from '../lib/errors.js';
import type { AwsClients } from '../lib/deploy/aws.js';
import { deploy, type DeployProps } from '../lib/deploy/deploy.js';
import { stackPolicyFor } from '../lib/deploy/stack-policy.js';
import { loadTemplates, type TemplateSet } from '../lib/deploy/templates.js';
import { ACCOUNT, deployedStack, mockedClients, nestedStackChange, NETWORK_CS, NETWORK_ID, ROOT_CS, serviceError, STACK_ID, VPC_REPLACEMENT } from './helpers/aws-mock.js';
import { writeCluster } from './moto-fixtures.js';

/** The fixture deployed, with its VPC output. */
const stackIn = (status: string, extra: Partial<Stack> = {}): Stack =>
  deployedStack(status, { Outputs: [{ OutputKey: 'VpcId', OutputValue: 'vpc-0abc', Description: "The cluster's VPC" }], ...extra });
const networkChange = nestedStackChange('Network', NETWORK_ID, NETWORK_CS);

const ingressChange: Change = {
  Type: 'Resource',
  ResourceChange: {
    Action: 'Modify',
    LogicalResourceId: 'AdminSecurityGroup',
    PhysicalResourceId: 'sg-0abc',
    ResourceType: 'AWS::EC2::SecurityGroup',
    Replacement: 'False',
    Scope: ['Properties'],
    Details: [{ Target: { Attribute: 'Properties', Name: 'SecurityGroupIngress', RequiresRecreation: 'Never' }, Evaluation: 'Static', ChangeSource: 'DirectModification' }],
  },
};

function event(stackId: string, stackName: string, id: string, type: string, status: string, at: number, reason?: string, physical?: string): StackEvent {
  return {
    StackId: stackId,
    StackName: stackName,
    EventId: `${id}-${status}-${at}`,
    LogicalResourceId: id,
    PhysicalResourceId: physical ?? id,
    ResourceType: type,
    ResourceStatus: status as StackEvent['ResourceStatus'],
    Timestamp: new Date(Date.now() + at * 1000),
    ...(reason ? { ResourceStatusReason: reason } : {}),
  };
}

describe('deploy with CloudFormation responses moto cannot give (aws-sdk-client-mock)', () => {
  let out: string;
  let templates: TemplateSet;
  let cfn: AwsStub<any, any, any>;
  let s3: AwsStub<any, any, any>;
  let clients: AwsClients;
  let lines: string[];

  before(() => {
    process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
    out = writeCluster();
    templates = loadTemplates(out);
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  beforeEach(() => {
    ({ clients, cfn, s3 } = mockedClients(ACCOUNT));
    lines = [];
    cfn.on(GetTemplateCommand).resolves({ TemplateBody: 'AWSTemplateFormatVersion: "2010-09-09"\nResources: {}\n' });
    cfn.on(CreateChangeSetCommand).resolves({ Id: ROOT_CS, StackId: STACK_ID });
    cfn.on(DeleteChangeSetCommand).resolves({});
    cfn.on(ListChangeSetsCommand).resolves({ Summaries: [] });
    // Stack policies as an earlier deploy left them; SetStackPolicy changes what GetStackPolicy returns.
    const policies = new Map<string, string>([
      [STACK_ID, JSON.stringify(stackPolicyFor(templates.root.template))],
      [NETWORK_ID, JSON.stringify(stackPolicyFor(templates.nested['Network']!.template))],
    ]);
    cfn.on(GetStackPolicyCommand).callsFake((input: { StackName: string }) => ({ StackPolicyBody: policies.get(input.StackName) }));
    cfn.on(SetStackPolicyCommand).callsFake((input: { StackName: string; StackPolicyBody: string }) => {
      policies.set(input.StackName, input.StackPolicyBody);
      return {};
    });
    cfn.on(ListStackResourcesCommand).resolves({
      StackResourceSummaries: [
        { LogicalResourceId: 'Network', PhysicalResourceId: NETWORK_ID, ResourceType: 'AWS::CloudFormation::Stack', ResourceStatus: 'UPDATE_COMPLETE', LastUpdatedTimestamp: new Date() },
      ],
    });
  });

  const props = (extra: Partial<DeployProps> = {}): DeployProps => ({
    clients,
    templates,
    stackName: 'prod',
    parameters: {},
    confirm: async () => true,
    print: (line) => lines.push(line),
    pollMs: 1,
    eventPollMs: 1,
    driftCheck: false, // drift around a deploy: test/deploy-drift-mock.test.ts
    ...extra,
  });

  /** Root change set in two pages; the nested stack's change set holds `nested`. */
  function changeSets(nested: Change[]) {
    cfn.on(DescribeChangeSetCommand).callsFake((input: { ChangeSetName: string; NextToken?: string }) => {
      if (input.ChangeSetName === NETWORK_CS) {
        return { ChangeSetId: NETWORK_CS, ChangeSetName: 'dcos-cfn-1-Network-XYZ', StackId: NETWORK_ID, Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE', Changes: nested };
      }
      if (input.NextToken === 'page-2') {
        return { ChangeSetId: ROOT_CS, StackId: STACK_ID, Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE', Changes: [networkChange] };
      }
      return { ChangeSetId: ROOT_CS, ChangeSetName: 'dcos-cfn-1', StackId: STACK_ID, Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE', Changes: [], NextToken: 'page-2' };
    });
  }

  it('refuses to replace the VPC, naming the stack, the resource and the property, and deletes the change set', async () => {
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [stackIn('UPDATE_COMPLETE')] });
    changeSets([VPC_REPLACEMENT]);
    await assert.rejects(deploy(props()), (err: unknown) => {
      assert.ok(err instanceof UserError);
      assert.match(err.message, /^Refusing to execute change set dcos-cfn-\S+: it would remove or replace stateful resources/);
      assert.match(err.message, /- prod\/Network: Vpc \(AWS::EC2::VPC, the VPC\) would be replaced: CidrBlock requires replacement/);
      assert.match(err.message, /run again with --allow-replacement Vpc\./);
      return true;
    });
    assert.equal(cfn.commandCalls(DeleteChangeSetCommand).length, 1);
    assert.equal(cfn.commandCalls(ExecuteChangeSetCommand).length, 0);
  });

  it('reads every page of the root change set and the nested change set it points to', async () => {
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [stackIn('UPDATE_COMPLETE')] });
    changeSets([ingressChange]);
    const result = await deploy(props({ execute: false }));
    assert.equal(result.kind, 'not-executed');
    const described = cfn.commandCalls(DescribeChangeSetCommand).map((c) => [c.args[0].input.ChangeSetName, c.args[0].input.NextToken]);
    assert.deepEqual(described, [[ROOT_CS, undefined], [ROOT_CS, 'page-2'], [NETWORK_CS, undefined]]);
    const text = lines.join('\n');
    assert.match(text, /^ {2}~ Network \(nested stack\)$/m);
    assert.match(text, /^ {6}~ AdminSecurityGroup +AWS::EC2::SecurityGroup {2}\(SecurityGroupIngress\) {3}\[security: security-group rules\]$/m);
    assert.match(text, /Security-relevant changes \(1\)/);
    assert.match(text, /left for review \(--no-execute\)/);
  });

  it('a change set described incompletely with property values is read again without them: the data gate sees what was left out', async () => {
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [stackIn('UPDATE_COMPLETE')] });
    // CloudFormation's answer with IncludePropertyValues dropped the VPC's replacement and said so only in
    // StatusReason (aws/aws-cdk-cli#1780); the plain answer has it.
    const warning = '[WARN] --include-property-values option can return incomplete ChangeSet data because: Logical Id: Vpc, failed property validation';
    cfn.on(DescribeChangeSetCommand).callsFake((input: { ChangeSetName: string; IncludePropertyValues?: boolean }) => {
      if (input.ChangeSetName === NETWORK_CS) {
        const changes = input.IncludePropertyValues ? [ingressChange] : [ingressChange, VPC_REPLACEMENT];
        return { ChangeSetId: NETWORK_CS, StackId: NETWORK_ID, Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE', Changes: changes, ...(input.IncludePropertyValues ? { StatusReason: warning } : {}) };
      }
      return { ChangeSetId: ROOT_CS, StackId: STACK_ID, Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE', Changes: [networkChange] };
    });
    await assert.rejects(deploy(props()), /Refusing to execute change set dcos-cfn-\S+[\s\S]*- prod\/Network: Vpc \(AWS::EC2::VPC, the VPC\) would be replaced: CidrBlock requires replacement/);
    const network = cfn.commandCalls(DescribeChangeSetCommand).filter((c) => c.args[0].input.ChangeSetName === NETWORK_CS).map((c) => c.args[0].input.IncludePropertyValues);
    assert.deepEqual(network, [true, false]);
    assert.match(lines.join('\n'), /^ {6}~ AdminSecurityGroup +AWS::EC2::SecurityGroup/m);
  });

  it('with --allow-replacement lets the named replacement through the stack policy for this execution only', async () => {
    cfn.on(DescribeStacksCommand).resolvesOnce({ Stacks: [stackIn('UPDATE_COMPLETE')] }).resolves({ Stacks: [stackIn('UPDATE_COMPLETE')] });
    changeSets([VPC_REPLACEMENT]);
    cfn.on(ExecuteChangeSetCommand).resolves({});
    cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
    const result = await deploy(props({ allowReplacement: ['Network/Vpc'] }));
    assert.equal(result.kind, 'deployed');
    // Only the nested stack's policy differs, loosened and then restored; the root's is left alone.
    const policies = cfn.commandCalls(SetStackPolicyCommand).map((c) => [c.args[0].input.StackName, JSON.parse(c.args[0].input.StackPolicyBody!).Statement[1]?.Resource]);
    assert.deepEqual(policies, [
      [NETWORK_ID, ['LogicalResourceId/PrivateSubnet']],
      [NETWORK_ID, ['LogicalResourceId/PrivateSubnet', 'LogicalResourceId/Vpc']],
    ]);
  });

  it('refuses a nested stack CloudFormation gave no change set for: the preview says "unknown" and nothing is executed', async () => {
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [stackIn('UPDATE_COMPLETE')] });
    const { ChangeSetId: _none, ...withoutChangeSet } = networkChange.ResourceChange!;
    cfn.on(DescribeChangeSetCommand).resolves({ ChangeSetId: ROOT_CS, ChangeSetName: 'dcos-cfn-1', StackId: STACK_ID, Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE', Changes: [{ Type: 'Resource', ResourceChange: withoutChangeSet }] });
    await assert.rejects(deploy(props()), (err: unknown) => {
      assert.ok(err instanceof UserError);
      assert.match(err.message, /- prod: Network \(AWS::CloudFormation::Stack, a nested stack, with whatever stateful resources are in it\) would be updated, possibly removing or replacing what is in it: what it changes is unknown: CloudFormation gave no change set for it/);
      assert.match(err.message, /run again with --allow-replacement Network\./);
      assert.match(err.message, /Deleted change set dcos-cfn-\S+; the stack was not changed\./);
      return true;
    });
    const text = lines.join('\n');
    assert.match(text, /^Security-relevant changes: unknown, since what they change could not be read:\n {2}\* prod\/Network: CloudFormation gave no change set for it$/m);
    assert.doesNotMatch(text, /No security-relevant changes/);
    assert.equal(cfn.commandCalls(ExecuteChangeSetCommand).length, 0);
  });

  it('a nested change set that cannot be read (access denied) is refused alike, and executed when the stack is named, loosening no policy', async () => {
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [stackIn('UPDATE_COMPLETE')] });
    changeSets([]);
    cfn.on(DescribeChangeSetCommand, { ChangeSetName: NETWORK_CS }).rejects(
      serviceError('AccessDenied', 'User: arn:aws:iam::111122223333:user/ops is not authorized to perform: cloudformation:DescribeChangeSet', 403),
    );
    await assert.rejects(deploy(props()), /Network \(AWS::CloudFormation::Stack, [^)]*\) would be updated, possibly removing or replacing what is in it: what it changes is unknown: reading its change set \S+ failed: User: \S+ is not authorized to perform: cloudformation:DescribeChangeSet/);
    assert.equal(cfn.commandCalls(ExecuteChangeSetCommand).length, 0);

    cfn.on(ExecuteChangeSetCommand).resolves({});
    cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
    lines = [];
    const result = await deploy(props({ allowReplacement: ['Network'] }));
    assert.equal(result.kind, 'deployed');
    assert.match(lines.join('\n'), /^ {2}\* prod\/Network: reading its change set \S+ failed: User: \S+ is not authorized/m);
    assert.equal(cfn.commandCalls(SetStackPolicyCommand).length, 0, 'the stack policies still guard the stateful resources inside');
  });

  it('a failed update reports the first failure of a nested stack, not its echoes', async () => {
    cfn.on(DescribeStacksCommand)
      .resolvesOnce({ Stacks: [stackIn('UPDATE_COMPLETE')] })
      .resolvesOnce({ Stacks: [stackIn('UPDATE_IN_PROGRESS')] })
      .resolves({ Stacks: [stackIn('UPDATE_ROLLBACK_COMPLETE')] });
    changeSets([ingressChange]);
    cfn.on(ExecuteChangeSetCommand).resolves({});
    const rootEvents = [
      event(STACK_ID, 'prod', 'prod', 'AWS::CloudFormation::Stack', 'UPDATE_ROLLBACK_COMPLETE', 9, undefined, STACK_ID),
      event(STACK_ID, 'prod', 'Network', 'AWS::CloudFormation::Stack', 'UPDATE_FAILED', 6, 'Embedded stack prod-Network-1ABCDEF was not successfully updated. Currently in UPDATE_ROLLBACK_IN_PROGRESS with reason: The following resource(s) failed to update: [AdminSecurityGroup].', NETWORK_ID),
      event(STACK_ID, 'prod', 'Network', 'AWS::CloudFormation::Stack', 'UPDATE_IN_PROGRESS', 1, undefined, NETWORK_ID),
    ];
    const networkEvents = [
      event(NETWORK_ID, 'prod-Network-1ABCDEF', 'AdminSecurityGroup', 'AWS::EC2::SecurityGroup', 'UPDATE_FAILED', 4, 'The security group rule limit was exceeded (Service: Ec2, Status Code: 400)'),
      event(NETWORK_ID, 'prod-Network-1ABCDEF', 'AdminSecurityGroup', 'AWS::EC2::SecurityGroup', 'UPDATE_IN_PROGRESS', 2),
    ];
    cfn.on(DescribeStackEventsCommand).callsFake((input: { StackName: string }) => ({ StackEvents: input.StackName === NETWORK_ID ? networkEvents : rootEvents }));
    const result = await deploy(props());
    assert.equal(result.kind, 'failed');
    assert.ok(result.kind === 'failed');
    assert.equal(result.status, 'UPDATE_ROLLBACK_COMPLETE');
    assert.deepEqual(result.rootCauses, [
      { stack: 'prod-Network-1ABCDEF', logicalId: 'AdminSecurityGroup', resourceType: 'AWS::EC2::SecurityGroup', status: 'UPDATE_FAILED', reason: 'The security group rule limit was exceeded (Service: Ec2, Status Code: 400)' },
    ]);
    assert.match(result.hint, /rolled back; the cluster is as it was before/);
    assert.ok(lines.some((l) => /UPDATE_FAILED +Network\/AdminSecurityGroup +AWS::EC2::SecurityGroup {2}The security group rule limit/.test(l)), lines.join('\n'));
    assert.equal(cfn.commandCalls(SetStackPolicyCommand).length, 0);
  });

  it('explains a stack whose first create failed, and replaces it only with --replace-failed', async () => {
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [stackIn('ROLLBACK_COMPLETE', { EnableTerminationProtection: false })] });
    await assert.rejects(deploy(props()), /Stack prod is ROLLBACK_COMPLETE: its first create failed and was rolled back[\s\S]*run deploy again with --replace-failed/);
    assert.equal(cfn.commandCalls(DeleteStackCommand).length, 0);

    cfn.reset();
    cfn.on(DescribeStacksCommand)
      .resolvesOnce({ Stacks: [stackIn('ROLLBACK_COMPLETE', { EnableTerminationProtection: false })] })
      .resolves({ Stacks: [stackIn('DELETE_COMPLETE')] });
    cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
    cfn.on(DeleteStackCommand).resolves({});
    cfn.on(CreateChangeSetCommand).resolves({ Id: ROOT_CS, StackId: STACK_ID });
    cfn.on(DescribeChangeSetCommand).resolves({ ChangeSetId: ROOT_CS, Status: 'CREATE_COMPLETE', StackId: STACK_ID, Changes: [] });
    cfn.on(DeleteChangeSetCommand).resolves({});
    cfn.on(ListChangeSetsCommand).resolves({ Summaries: [] });
    const result = await deploy(props({ replaceFailed: true, execute: false, parameters: { ClusterName: 'prod' } }));
    assert.equal(result.kind, 'not-executed');
    assert.equal(cfn.commandCalls(DeleteStackCommand).length, 1);
    assert.equal(cfn.commandCalls(CreateChangeSetCommand)[0]!.args[0].input.ChangeSetType, 'CREATE');
  });

  it('explains UPDATE_ROLLBACK_FAILED with the command that continues the rollback', async () => {
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [stackIn('UPDATE_ROLLBACK_FAILED')] });
    await assert.rejects(deploy(props()), /UPDATE_ROLLBACK_FAILED[\s\S]*aws cloudformation continue-update-rollback --stack-name prod/);
    assert.equal(cfn.commandCalls(CreateChangeSetCommand).length, 0);
  });

  it('waits for an operation in progress instead of trampling it, then finds nothing to do', async () => {
    cfn.on(DescribeStacksCommand)
      .resolvesOnce({ Stacks: [stackIn('UPDATE_IN_PROGRESS')] })
      .resolvesOnce({ Stacks: [stackIn('UPDATE_IN_PROGRESS')] })
      .resolves({ Stacks: [stackIn('UPDATE_COMPLETE')] });
    cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
    cfn.on(GetTemplateCommand).resolves({ TemplateBody: templates.root.body });
    const result = await deploy(props());
    assert.equal(result.kind, 'no-op');
    assert.match(lines[0]!, /^Stack prod is UPDATE_IN_PROGRESS: another operation is running\. Waiting for it to finish \(it is not touched\)\.$/);
    assert.equal(cfn.commandCalls(CreateChangeSetCommand).length, 0);
    assert.equal(cfn.commandCalls(UpdateTerminationProtectionCommand).length, 0);
  });

  it('a change set that "didn\'t contain changes" is deleted and the deploy is a no-op', async () => {
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [stackIn('UPDATE_COMPLETE')] });
    cfn.on(DescribeChangeSetCommand).resolves({
      ChangeSetId: ROOT_CS,
      StackId: STACK_ID,
      Status: 'FAILED',
      StatusReason: "The submitted information didn't contain changes. Submit different information to create a change set.",
    });
    const result = await deploy(props());
    assert.equal(result.kind, 'no-op');
    assert.equal(cfn.commandCalls(DeleteChangeSetCommand).length, 1);
    assert.equal(cfn.commandCalls(ExecuteChangeSetCommand).length, 0);
  });

  it('uploads only the nested templates that are not in the bucket yet', async () => {
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [stackIn('UPDATE_COMPLETE')] });
    s3.on(HeadObjectCommand).callsFake((input: { Key: string }) => {
      if (input.Key.startsWith('logs-')) return {};
      throw Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });
    });
    s3.on(PutObjectCommand).resolves({});
    changeSets([]);
    await deploy(props({ execute: false }));
    assert.deepEqual(s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key), [templates.nested['Network']!.key]);
    assert.ok(lines.includes(`Templates in s3://dcos-cfn-templates-${ACCOUNT}-us-east-1: 1 uploaded, 1 already there.`));
  });
});
