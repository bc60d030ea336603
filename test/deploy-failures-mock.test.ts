/**
 * Service-side failures moto cannot produce, with aws-sdk-client-mock answering like CloudFormation does:
 * failed change sets (nested reasons, early validation events, no DescribeEvents permission), change sets in
 * flight, replacements whose loosened stack policy must be restored by a later run or after a rollback, an
 * operation that keeps running while the event stream is lost or the credentials expire, bounded waits, and
 * the capability and retention rules.
 */
import {
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DeleteStackCommand,
  DescribeChangeSetCommand,
  DescribeEventsCommand,
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
} from '@aws-sdk/client-cloudformation';
import { ModifyInstanceAttributeCommand } from '@aws-sdk/client-ec2';
import type { AwsStub } from 'aws-sdk-client-mock';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { UserError } from '../lib/errors.js';
import { translateAwsError, type AwsClients } from '../lib/deploy/aws.js';
import { deploy, followDeploy, type DeployProps } from '../lib/deploy/deploy.js';
import { report } from '../lib/commands/deploy.js';
import { destroy, retainedResources } from '../lib/deploy/destroy.js';
import { stackPolicyFor } from '../lib/deploy/stack-policy.js';
import { loadTemplates, requiredCapabilities, type TemplateSet } from '../lib/deploy/templates.js';
import { ACCOUNT, deployedStack, mockedClients, nestedStackChange, NETWORK_CS, NETWORK_ID, ROOT_CS, serviceError, STACK_ID, stackArn, VPC_REPLACEMENT } from './helpers/aws-mock.js';
import { writeCluster } from './moto-fixtures.js';

/** The fixture deployed, last updated a minute ago. */
const stackIn = (status: string, extra: Partial<Stack> = {}): Stack => deployedStack(status, { LastUpdatedTime: new Date(Date.now() - 60_000), Outputs: [], ...extra });
const nestedChange = nestedStackChange('Network', NETWORK_ID, NETWORK_CS);

describe('deploy failures moto cannot produce (aws-sdk-client-mock)', () => {
  let out: string;
  let templates: TemplateSet;
  let cfn: AwsStub<any, any, any>;
  let clients: AwsClients;
  let lines: string[];
  let policies: Map<string, string>;

  const fullPolicy = () => JSON.stringify(stackPolicyFor(templates.nested['Network']!.template));
  const loosenedPolicy = () => JSON.stringify(stackPolicyFor(templates.nested['Network']!.template, ['Vpc']));
  const deniedIn = (stack: string) => JSON.parse(policies.get(stack) ?? '{"Statement":[]}').Statement.find((s: { Effect: string }) => s.Effect === 'Deny')?.Resource;

  before(() => {
    process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
    out = writeCluster();
    templates = loadTemplates(out);
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  beforeEach(() => {
    ({ clients, cfn } = mockedClients(ACCOUNT));
    lines = [];
    policies = new Map([
      [STACK_ID, JSON.stringify(stackPolicyFor(templates.root.template))],
      [NETWORK_ID, fullPolicy()],
    ]);
    cfn.on(GetStackPolicyCommand).callsFake((input: { StackName: string }) => ({ StackPolicyBody: policies.get(input.StackName) }));
    cfn.on(SetStackPolicyCommand).callsFake((input: { StackName: string; StackPolicyBody: string }) => {
      policies.set(input.StackName, input.StackPolicyBody);
      return {};
    });
    cfn.on(GetTemplateCommand).resolves({ TemplateBody: 'Resources: {}\n' });
    cfn.on(CreateChangeSetCommand).resolves({ Id: ROOT_CS, StackId: STACK_ID });
    cfn.on(DeleteChangeSetCommand).resolves({});
    cfn.on(DeleteStackCommand).resolves({});
    cfn.on(ListChangeSetsCommand).resolves({ Summaries: [] });
    cfn.on(ListStackResourcesCommand).resolves({
      StackResourceSummaries: [{ LogicalResourceId: 'Network', PhysicalResourceId: NETWORK_ID, ResourceType: 'AWS::CloudFormation::Stack', ResourceStatus: 'UPDATE_COMPLETE', LastUpdatedTimestamp: new Date() }],
    });
    cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
  });

  const props = (extra: Partial<DeployProps> = {}): DeployProps => ({
    clients,
    templates,
    stackName: 'prod',
    parameters: { ClusterName: 'prod' },
    confirm: async () => true,
    print: (line) => lines.push(line),
    pollMs: 1,
    eventPollMs: 1,
    driftCheck: false, // drift around a deploy: test/deploy-drift-mock.test.ts
    ...extra,
  });

  /** The root change set holds the nested one, which holds `nested`. */
  function changeSets(nested: Change[]) {
    cfn.on(DescribeChangeSetCommand).callsFake((input: { ChangeSetName: string }) =>
      input.ChangeSetName === NETWORK_CS
        ? { ChangeSetId: NETWORK_CS, StackId: NETWORK_ID, Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE', Changes: nested }
        : { ChangeSetId: ROOT_CS, ChangeSetName: 'dcos-cfn-1', StackId: STACK_ID, Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE', Changes: [nestedChange] },
    );
  }

  describe('failed change sets are explained and deleted', () => {
    function failingChangeSets(events: object[] | Error) {
      cfn.on(DescribeChangeSetCommand).callsFake((input: { ChangeSetName: string }) =>
        input.ChangeSetName === NETWORK_CS
          ? {
              ChangeSetId: NETWORK_CS,
              ChangeSetName: 'dcos-cfn-1-Network-XYZ',
              StackName: 'prod-Network-1ABCDEF',
              Status: 'FAILED',
              StatusReason: 'The following hook(s)/validation failed: [AWS::EarlyValidation::PropertyValidation]. To troubleshoot Early Validation errors, use the DescribeEvents API for detailed failure information.',
            }
          : { ChangeSetId: ROOT_CS, ChangeSetName: 'dcos-cfn-1', StackId: STACK_ID, StackName: 'prod', Status: 'FAILED', StatusReason: `Nested change set ${NETWORK_CS} was not successfully created: Currently in FAILED.` },
      );
      const describeEvents = cfn.on(DescribeEventsCommand);
      if (events instanceof Error) describeEvents.rejects(events);
      else describeEvents.callsFake((input: { ChangeSetName: string }) => ({ OperationEvents: input.ChangeSetName === NETWORK_CS ? events : [] }));
    }

    it('an update: the nested validation error with its template path, then the change set deleted (not the stack)', async () => {
      cfn.on(DescribeStacksCommand).resolves({ Stacks: [stackIn('UPDATE_COMPLETE')] });
      failingChangeSets([
        {
          EventId: 'e1',
          OperationType: 'CREATE_CHANGESET',
          EventType: 'VALIDATION_ERROR',
          LogicalResourceId: 'PrivateSubnet',
          ResourceType: 'AWS::EC2::Subnet',
          ValidationFailureMode: 'FAIL',
          ValidationName: 'PROPERTY_VALIDATION',
          ValidationStatus: 'FAILED',
          ValidationStatusReason: '#/CidrBlock: failed validation constraint for keyword [pattern]',
          ValidationPath: '/Resources/PrivateSubnet/Properties/CidrBlock',
        },
      ]);
      await assert.rejects(deploy(props()), (err: unknown) => {
        assert.ok(err instanceof UserError);
        assert.equal(
          err.message,
          `Change set dcos-cfn-1 failed: Nested change set ${NETWORK_CS} was not successfully created: Currently in FAILED.\n`.replace('dcos-cfn-1', err.message.split(' ')[2]!) +
            '  - prod/Network/PrivateSubnet (AWS::EC2::Subnet): PROPERTY_VALIDATION: #/CidrBlock: failed validation constraint for keyword [pattern] [at /Resources/PrivateSubnet/Properties/CidrBlock]\n' +
            `Deleted change set ${err.message.split(' ')[2]}; the stack was not changed.\n` +
            "Fix the causes above (a template problem: change the definition, 'npm run synth', 'npm run lint'), then deploy again.",
        );
        return true;
      });
      assert.deepEqual(cfn.commandCalls(DescribeEventsCommand).map((c) => [c.args[0].input.ChangeSetName, c.args[0].input.Filters]), [
        [ROOT_CS, { FailedEvents: true }],
        [NETWORK_CS, { FailedEvents: true }],
      ]);
      assert.equal(cfn.commandCalls(DeleteChangeSetCommand).length, 1);
      assert.equal(cfn.commandCalls(DeleteStackCommand).length, 0);
      assert.equal(cfn.commandCalls(ExecuteChangeSetCommand).length, 0);
    });

    it('a create: the empty stack is deleted too; without DescribeEvents permission the nested reason still shows, with a note', async () => {
      cfn.on(DescribeStacksCommand).rejects(serviceError('ValidationError', 'Stack with id prod does not exist', 400));
      failingChangeSets(serviceError('AccessDenied', 'User: arn:aws:iam::111122223333:user/ops is not authorized to perform: cloudformation:DescribeEvents', 403));
      await assert.rejects(deploy(props()), (err: unknown) => {
        assert.ok(err instanceof UserError);
        assert.match(err.message, /\n {2}- prod\/Network: The following hook\(s\)\/validation failed: \[AWS::EarlyValidation::PropertyValidation\]/);
        assert.match(err.message, /\n {2}- \(CloudFormation's validation events \(DescribeEvents; the identity may lack cloudformation:DescribeEvents\) could not be read: User: .* is not authorized/);
        assert.match(err.message, /\nDeleted change set \S+ and the empty stack \(REVIEW_IN_PROGRESS\) it created; nothing else was changed\./);
        return true;
      });
      assert.deepEqual(cfn.commandCalls(DeleteStackCommand).map((c) => c.args[0].input.StackName), [STACK_ID]);
    });

    it('a change set still computing after the bound is deleted, with what was waited for', async () => {
      cfn.on(DescribeStacksCommand).resolves({ Stacks: [stackIn('UPDATE_COMPLETE')] });
      cfn.on(DescribeChangeSetCommand).resolves({ ChangeSetId: ROOT_CS, StackId: STACK_ID, Status: 'CREATE_IN_PROGRESS' });
      await assert.rejects(deploy(props({ changeSetTimeoutMs: 30 })), /CloudFormation did not finish computing change set \S+ in 0 s \(still CREATE_IN_PROGRESS\)[\s\S]*\nDeleted change set \S+; the stack was not changed\./);
      assert.equal(cfn.commandCalls(DeleteChangeSetCommand).length, 1);
    });

    it('an answer without a status is an error, not an endless wait', async () => {
      cfn.on(DescribeStacksCommand).resolves({ Stacks: [stackIn('UPDATE_COMPLETE')] });
      cfn.on(DescribeChangeSetCommand).resolves({});
      await assert.rejects(deploy(props()), /DescribeChangeSet answered without a status for change set \S+: not an AWS API answer/);
    });
  });

  describe('change sets in flight', () => {
    it('one being computed by someone else refuses the deploy before anything is created', async () => {
      cfn.on(DescribeStacksCommand).resolves({ Stacks: [stackIn('UPDATE_COMPLETE')] });
      cfn.on(GetTemplateCommand).resolves({ TemplateBody: 'Resources: {}\n' });
      cfn.on(ListChangeSetsCommand).resolves({
        Summaries: [{ ChangeSetName: 'console-edit', ChangeSetId: 'arn:cs/console-edit', StackName: 'prod', Status: 'CREATE_IN_PROGRESS', ExecutionStatus: 'UNAVAILABLE', CreationTime: new Date('2026-02-01T10:00:00Z') }],
      });
      await assert.rejects(deploy(props()), /Stack prod has change sets in flight[\s\S]*- console-edit \(created 2026-02-01T10:00:00\.000Z\), being computed \(CREATE_IN_PROGRESS\)/);
      assert.equal(cfn.commandCalls(CreateChangeSetCommand).length, 0);
    });

    it('one left for review (--no-execute) does not block a deploy', async () => {
      cfn.on(DescribeStacksCommand).resolves({ Stacks: [stackIn('UPDATE_COMPLETE')] });
      cfn.on(ListChangeSetsCommand).resolves({
        Summaries: [{ ChangeSetName: 'dcos-cfn-0', StackName: 'prod', Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE', Description: 'dcos-cfn deploy --no-execute: left for review' }],
      });
      changeSets([]);
      assert.equal((await deploy(props({ execute: false }))).kind, 'not-executed');
      assert.match(cfn.commandCalls(CreateChangeSetCommand)[0]!.args[0].input.Description!, /^dcos-cfn deploy --no-execute: left for review$/);
    });
  });

  describe('a policy loosened for --allow-replacement is restored', () => {
    it('by the next run, even one with no changes', async () => {
      policies.set(NETWORK_ID, loosenedPolicy()); // an earlier run was stopped after loosening it
      cfn.on(DescribeStacksCommand).resolves({ Stacks: [stackIn('UPDATE_COMPLETE')] });
      cfn.on(GetTemplateCommand).resolves({ TemplateBody: templates.root.body });
      const result = await deploy(props({ parameters: {} }));
      assert.equal(result.kind, 'no-op');
      assert.deepEqual(deniedIn(NETWORK_ID), ['LogicalResourceId/PrivateSubnet', 'LogicalResourceId/Vpc']);
      assert.deepEqual(lines, ['Stack policy restored on prod/Network.']);
      assert.equal(cfn.commandCalls(SetStackPolicyCommand).length, 1, 'only the stack whose policy differs is written');
    });

    it('after an update that rolled back', async () => {
      cfn.on(DescribeStacksCommand)
        .resolvesOnce({ Stacks: [stackIn('UPDATE_COMPLETE')] })
        .resolvesOnce({ Stacks: [stackIn('UPDATE_ROLLBACK_IN_PROGRESS')] })
        .resolves({ Stacks: [stackIn('UPDATE_ROLLBACK_COMPLETE')] });
      changeSets([VPC_REPLACEMENT]);
      cfn.on(ExecuteChangeSetCommand).resolves({});
      const result = await deploy(props({ allowReplacement: ['Vpc'] }));
      assert.equal(result.kind, 'failed');
      assert.deepEqual(
        cfn.commandCalls(SetStackPolicyCommand).map((c) => JSON.parse(c.args[0].input.StackPolicyBody!).Statement[1].Resource),
        [['LogicalResourceId/PrivateSubnet'], ['LogicalResourceId/PrivateSubnet', 'LogicalResourceId/Vpc']],
      );
      assert.deepEqual(deniedIn(NETWORK_ID), ['LogicalResourceId/PrivateSubnet', 'LogicalResourceId/Vpc']);
    });
    it('when CloudFormation refuses to loosen it: nothing is executed, the change set is deleted, the policy is as it was', async () => {
      cfn.on(DescribeStacksCommand).resolves({ Stacks: [stackIn('UPDATE_COMPLETE')] });
      changeSets([VPC_REPLACEMENT]);
      cfn.on(ExecuteChangeSetCommand).resolves({});
      cfn.on(SetStackPolicyCommand).rejects(new UserError('Access denied: SetStackPolicy on prod/Network was refused (cloudformation:SetStackPolicy).'));
      await assert.rejects(deploy(props({ allowReplacement: ['Vpc'] })), /^UserError: Access denied: SetStackPolicy on prod\/Network was refused.*\n.*Deleted change set/s);
      assert.equal(cfn.commandCalls(ExecuteChangeSetCommand).length, 0);
      assert.equal(cfn.commandCalls(DeleteChangeSetCommand).length, 1);
      assert.deepEqual(deniedIn(NETWORK_ID), ['LogicalResourceId/PrivateSubnet', 'LogicalResourceId/Vpc']);
    });

    it('when the execution is refused: the change set is deleted and the policy restored at once', async () => {
      cfn.on(DescribeStacksCommand).resolves({ Stacks: [stackIn('UPDATE_COMPLETE')] });
      changeSets([VPC_REPLACEMENT]);
      cfn.on(ExecuteChangeSetCommand).rejects(new UserError('Access denied: ExecuteChangeSet on prod was refused (cloudformation:ExecuteChangeSet).'));
      await assert.rejects(deploy(props({ allowReplacement: ['Vpc'] })), /^UserError: Access denied: ExecuteChangeSet on prod was refused.*\n.*Deleted change set.*\n.*Stack policy restored on prod\/Network\./s);
      assert.deepEqual(deniedIn(NETWORK_ID), ['LogicalResourceId/PrivateSubnet', 'LogicalResourceId/Vpc']);
    });
  });

  describe('CloudFormation keeps going while deploy loses track', () => {
    const executing = () => {
      changeSets([]);
      cfn.on(ExecuteChangeSetCommand).resolves({});
    };

    it('events throttled while the update runs: the status is followed with backoff until it completes', async () => {
      cfn.on(DescribeStacksCommand)
        .resolvesOnce({ Stacks: [stackIn('UPDATE_COMPLETE')] })
        .resolvesOnce({ Stacks: [stackIn('UPDATE_IN_PROGRESS')] })
        .resolvesOnce({ Stacks: [stackIn('UPDATE_IN_PROGRESS')] })
        .resolves({ Stacks: [stackIn('UPDATE_COMPLETE')] });
      cfn.on(DescribeStackEventsCommand).rejects(serviceError('Throttling', 'Rate exceeded', 400, { $retryable: { throttling: true } }));
      executing();
      const result = await deploy(props());
      assert.equal(result.kind, 'deployed');
      assert.equal(lines.filter((l) => /events unavailable: AWS kept throttling/.test(l)).length, 1, lines.join('\n'));
      assert.ok(cfn.commandCalls(DescribeStacksCommand).length >= 4);
    });

    it('credentials that expire mid-update: the stack is still in progress, and the message says how to resume', async () => {
      cfn.on(DescribeStacksCommand)
        .resolvesOnce({ Stacks: [stackIn('UPDATE_COMPLETE')] })
        .resolvesOnce({ Stacks: [stackIn('UPDATE_IN_PROGRESS')] })
        .rejects(serviceError('ExpiredToken', 'The security token included in the request is expired', 403));
      executing();
      await assert.rejects(
        deploy(props({ resumeCommand: 'npm run deploy -- --stack-name prod --follow' })),
        /^UserError: Lost track of stack \S+ \(last seen UPDATE_IN_PROGRESS\): The AWS credentials have expired \(a call was refused\)\..*\nCloudFormation keeps going on its own; nothing was cancelled\. Once that is fixed, run 'npm run deploy -- --stack-name prod --follow' to follow it to the end and apply the stack policies and termination protection\.$/,
      );
      assert.equal(cfn.commandCalls(SetStackPolicyCommand).length, 0);
    });

    it('an operation that outlasts the follow bound is left to CloudFormation, with the resume command', async () => {
      cfn.on(DescribeStacksCommand).resolvesOnce({ Stacks: [stackIn('UPDATE_COMPLETE')] }).resolves({ Stacks: [stackIn('UPDATE_IN_PROGRESS')] });
      executing();
      await assert.rejects(deploy(props({ followTimeoutMs: 20 })), /Stack \S+ is still UPDATE_IN_PROGRESS after 0 s of following\. CloudFormation keeps going on its own; nothing was cancelled\. Once that is fixed, run 'npm run deploy -- --stack-name prod --follow'/);
    });

    /** `deploy --follow` needs no templates: only the stack, the clients and the printer. */
    const followProps = () => ({ clients, stackName: 'prod', print: (line: string) => lines.push(line), eventPollMs: 1 });
    /** GetTemplate answers with the templates the stacks run: the fixture's root and network. */
    const deployedAre = (root: TemplateSet['root'], network: TemplateSet['root']) =>
      cfn.on(GetTemplateCommand).callsFake((input: { StackName: string }) => ({ TemplateBody: (input.StackName === NETWORK_ID ? network : root).body }));

    it('--follow picks up an update in progress from its start, then protects from the deployed templates and reports', async () => {
      policies.set(NETWORK_ID, loosenedPolicy());
      deployedAre(templates.root, templates.nested['Network']!);
      const started = new Date(Date.now() - 90_000);
      cfn.on(DescribeStacksCommand)
        .resolvesOnce({ Stacks: [stackIn('UPDATE_IN_PROGRESS', { LastUpdatedTime: started })] })
        .resolvesOnce({ Stacks: [stackIn('UPDATE_IN_PROGRESS', { LastUpdatedTime: started })] })
        .resolves({ Stacks: [stackIn('UPDATE_COMPLETE', { LastUpdatedTime: started, Outputs: [{ OutputKey: 'VpcId', OutputValue: 'vpc-1' }] })] });
      const result = await followDeploy(followProps());
      assert.equal(result.kind, 'deployed');
      assert.equal(lines[0], `Following stack prod (UPDATE_IN_PROGRESS), from the start of its current operation (${started.toISOString()}):`);
      assert.ok(lines.includes('Stack policy restored on prod/Network.'), lines.join('\n'));
      assert.equal(policies.get(NETWORK_ID), fullPolicy(), "the deployed network template's policy");
      assert.ok(result.kind === 'deployed' && result.seconds !== undefined && result.seconds >= 90, `measured from the update's start: ${JSON.stringify(result)}`);
      assert.equal(cfn.commandCalls(CreateChangeSetCommand).length, 0);
    });

    it('--follow on an update whose start CloudFormation does not give: events from now on, and no duration', async () => {
      deployedAre(templates.root, templates.nested['Network']!);
      cfn.on(DescribeStacksCommand)
        .resolvesOnce({ Stacks: [stackIn('UPDATE_IN_PROGRESS', { LastUpdatedTime: undefined })] })
        .resolves({ Stacks: [stackIn('UPDATE_COMPLETE', { LastUpdatedTime: undefined })] });
      const result = await followDeploy(followProps());
      assert.equal(lines[0], 'Following stack prod (UPDATE_IN_PROGRESS); CloudFormation does not say when this operation started, so events from now on:');
      assert.equal(result.kind, 'deployed');
      assert.ok(result.kind === 'deployed' && result.seconds === undefined, JSON.stringify(result));
      assert.ok(cfn.commandCalls(DescribeStackEventsCommand).length >= 1, 'the operation was followed');
    });

    it('--follow on a settled stack says so, replays no history, and converges the protections from the deployed templates', async () => {
      policies.set(NETWORK_ID, loosenedPolicy());
      deployedAre(templates.root, templates.nested['Network']!);
      cfn.on(DescribeStacksCommand).resolves({ Stacks: [stackIn('UPDATE_COMPLETE', { EnableTerminationProtection: false })] });
      cfn.on(UpdateTerminationProtectionCommand).resolves({ StackId: STACK_ID });
      const result = await followDeploy(followProps());
      assert.deepEqual(result, { kind: 'settled', stackName: 'prod', status: 'UPDATE_COMPLETE', outputs: [] });
      assert.deepEqual(lines, [
        'Stack prod is UPDATE_COMPLETE: no operation is in progress, so there is nothing to follow.',
        'Stack policy restored on prod/Network.',
        'Termination protection enabled on prod.',
      ]);
      assert.equal(policies.get(NETWORK_ID), fullPolicy());
      assert.equal(cfn.commandCalls(DescribeStackEventsCommand).length, 0, 'no history replayed');
    });

    it('--follow on a stack whose last update rolled back says so, with where to read why, and fails (exit 1)', async () => {
      deployedAre(templates.root, templates.nested['Network']!);
      cfn.on(DescribeStacksCommand).resolves({ Stacks: [stackIn('UPDATE_ROLLBACK_COMPLETE')] });
      const result = await followDeploy(followProps());
      assert.ok(result.kind === 'settled' && result.hint !== undefined, JSON.stringify(result));
      const printed: string[] = [];
      assert.equal(report(result, (l) => printed.push(l)), 1);
      assert.deepEqual(printed, [
        'Its last operation did not succeed (UPDATE_ROLLBACK_COMPLETE). Its events say why: aws cloudformation describe-stack-events --stack-name prod. Fix the cause and deploy again.',
      ]);
      assert.equal(cfn.commandCalls(DescribeStackEventsCommand).length, 0);
    });

    it('--follow refuses to touch the protections when it cannot read the deployed templates', async () => {
      policies.set(NETWORK_ID, loosenedPolicy());
      cfn.on(DescribeStacksCommand).resolves({ Stacks: [stackIn('UPDATE_COMPLETE')] });
      cfn.on(GetTemplateCommand).rejects(new UserError('Access denied: GetTemplate in us-east-1 was refused.'));
      await assert.rejects(followDeploy(followProps()), /^UserError: Cannot read the deployed template of prod \(GetTemplate: Access denied: GetTemplate in us-east-1 was refused\.\), so its stack policy cannot be set to match it; the protections were not changed\./);
      assert.equal(cfn.commandCalls(SetStackPolicyCommand).length, 0);
    });
  });

  describe('destroy puts back everything it loosened when the delete does not start or does not finish', () => {
    const MASTER_ZONE_ID = stackArn('prod-MasterZone-1ABCDEF', 4);
    const MASTER_ZONE = 'Resources:\n  Master1:\n    Type: AWS::EC2::Instance\n    Properties:\n      DisableApiTermination: true\n  Master2:\n    Type: AWS::EC2::Instance\n    Properties:\n      DisableApiTermination: true\n';
    let ec2: AwsStub<any, any, any>;
    /** The protection calls in order: `stack off`, `i-...1 off`, ... */
    let protectionCalls: string[];

    beforeEach(() => {
      ({ clients, cfn, ec2 } = mockedClients(ACCOUNT));
      cfn.on(DescribeStacksCommand).resolves({ Stacks: [stackIn('UPDATE_COMPLETE', { EnableTerminationProtection: true })] });
      cfn.on(GetTemplateCommand).callsFake((input: { StackName: string }) => ({ TemplateBody: input.StackName === MASTER_ZONE_ID ? MASTER_ZONE : 'Resources: {}\n' }));
      cfn.on(ListStackResourcesCommand).callsFake((input: { StackName: string }) => ({
        StackResourceSummaries:
          input.StackName === MASTER_ZONE_ID
            ? ['Master1', 'Master2'].map((id, i) => ({ LogicalResourceId: id, PhysicalResourceId: `i-0000000000000000${i + 1}`, ResourceType: 'AWS::EC2::Instance', ResourceStatus: 'CREATE_COMPLETE', LastUpdatedTimestamp: new Date() }))
            : [{ LogicalResourceId: 'MasterZone', PhysicalResourceId: MASTER_ZONE_ID, ResourceType: 'AWS::CloudFormation::Stack', ResourceStatus: 'CREATE_COMPLETE', LastUpdatedTimestamp: new Date() }],
      }));
      protectionCalls = [];
      cfn.on(UpdateTerminationProtectionCommand).callsFake((input: { EnableTerminationProtection: boolean }) => {
        protectionCalls.push(`stack ${input.EnableTerminationProtection ? 'on' : 'off'}`);
        return { StackId: STACK_ID };
      });
      ec2.on(ModifyInstanceAttributeCommand).callsFake((input: { InstanceId: string; DisableApiTermination: { Value: boolean } }) => {
        protectionCalls.push(`${input.InstanceId} ${input.DisableApiTermination.Value ? 'on' : 'off'}`);
        if (input.InstanceId === refusedInstance && !input.DisableApiTermination.Value) throw new UserError('Access denied: ModifyInstanceAttribute was refused.');
        return {};
      });
    });
    let refusedInstance: string | undefined;
    afterEach(() => (refusedInstance = undefined));
    const run = () => destroy({ clients, stackName: 'prod', force: true, confirm: async () => true, print: (l) => lines.push(l), eventPollMs: 1 });

    it('DeleteStack refused: both instances and the stack protected again, the error says so', async () => {
      cfn.on(DeleteStackCommand).rejects(new UserError('Access denied: DeleteStack on prod was refused (cloudformation:DeleteStack).'));
      await assert.rejects(run(), (err: Error) => {
        assert.equal(
          err.message,
          'Access denied: DeleteStack on prod was refused (cloudformation:DeleteStack).\n' +
            'Instance termination protection turned back on on prod/MasterZone/Master2 (i-00000000000000002).\n' +
            'Instance termination protection turned back on on prod/MasterZone/Master1 (i-00000000000000001).\n' +
            'Termination protection turned back on on prod.\n' +
            'Stack prod was not deleted.',
        );
        return true;
      });
      assert.deepEqual(protectionCalls, ['stack off', 'i-00000000000000001 off', 'i-00000000000000002 off', 'i-00000000000000002 on', 'i-00000000000000001 on', 'stack on']);
    });

    it('an instance that cannot be loosened: what was loosened before it is put back, and the delete is never sent', async () => {
      refusedInstance = 'i-00000000000000002';
      await assert.rejects(run(), /^UserError: Access denied: ModifyInstanceAttribute was refused\.\nInstance termination protection turned back on on prod\/MasterZone\/Master2 .*\nInstance termination protection turned back on on prod\/MasterZone\/Master1 .*\nTermination protection turned back on on prod\.\nStack prod was not deleted\.$/);
      assert.equal(cfn.commandCalls(DeleteStackCommand).length, 0);
      // The refused call is put back too: it may have taken effect before its answer was lost.
      assert.deepEqual(protectionCalls, ['stack off', 'i-00000000000000001 off', 'i-00000000000000002 off', 'i-00000000000000002 on', 'i-00000000000000001 on', 'stack on']);
    });

    it('DELETE_FAILED: the stack and the surviving master protected again; the terminated one has nothing to put back', async () => {
      cfn.on(DescribeStacksCommand)
        .resolvesOnce({ Stacks: [stackIn('UPDATE_COMPLETE', { EnableTerminationProtection: true })] })
        .resolves({ Stacks: [stackIn('DELETE_FAILED', { StackStatusReason: 'The following resource(s) failed to delete: [MasterZone].' })] });
      cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
      cfn.on(DeleteStackCommand).resolves({});
      ec2.on(ModifyInstanceAttributeCommand).callsFake((input: { InstanceId: string; DisableApiTermination: { Value: boolean } }) => {
        protectionCalls.push(`${input.InstanceId} ${input.DisableApiTermination.Value ? 'on' : 'off'}`);
        if (input.InstanceId === 'i-00000000000000001' && input.DisableApiTermination.Value) {
          throw serviceError('IncorrectInstanceState', 'The instance i-00000000000000001 is not in a state from which it can be modified.', 400);
        }
        return {};
      });
      const result = await run();
      assert.equal(result.kind, 'failed');
      assert.deepEqual(result.kind === 'failed' ? result.restored : undefined, [
        'Instance termination protection turned back on on prod/MasterZone/Master2 (i-00000000000000002).',
        'prod/MasterZone/Master1 (i-00000000000000001) was terminated; nothing to put back.',
        'Termination protection turned back on on prod.',
      ]);
      assert.deepEqual(protectionCalls, ['stack off', 'i-00000000000000001 off', 'i-00000000000000002 off', 'i-00000000000000002 on', 'i-00000000000000001 on', 'stack on']);
    });
  });

  describe('rules', () => {
    it('asks for CAPABILITY_AUTO_EXPAND for a macro anywhere, and does not crash on one under Resources', () => {
      const nested = (template: Record<string, unknown>): TemplateSet => ({ ...templates, nested: { ...templates.nested, Macro: { file: 'm.yaml', body: '', key: 'm', template } } });
      assert.deepEqual(requiredCapabilities(nested({ Resources: { Bucket: { Type: 'AWS::S3::Bucket', Properties: { 'Fn::Transform': { Name: 'AWS::Include', Parameters: { Location: 's3://b/k' } } } } } })), ['CAPABILITY_AUTO_EXPAND']);
      assert.deepEqual(requiredCapabilities(nested({ Resources: { 'Fn::Transform': { Name: 'AWS::Include', Parameters: { Location: 's3://b/k' } }, Role: { Type: 'AWS::IAM::Role' } } })), ['CAPABILITY_AUTO_EXPAND', 'CAPABILITY_IAM']);
      assert.deepEqual(requiredCapabilities(nested({ Transform: 'AWS::Serverless-2016-10-31', Resources: {} })), ['CAPABILITY_AUTO_EXPAND']);
    });

    it('lists RetainExceptOnCreate resources as retained', async () => {
      cfn.on(GetTemplateCommand).resolves({ TemplateBody: 'Resources:\n  Logs:\n    Type: AWS::Logs::LogGroup\n    DeletionPolicy: RetainExceptOnCreate\n  Topic:\n    Type: AWS::SNS::Topic\n' });
      cfn.on(ListStackResourcesCommand).resolves({
        StackResourceSummaries: [
          { LogicalResourceId: 'Logs', PhysicalResourceId: '/dcos/prod', ResourceType: 'AWS::Logs::LogGroup', ResourceStatus: 'CREATE_COMPLETE', LastUpdatedTimestamp: new Date() },
          { LogicalResourceId: 'Topic', PhysicalResourceId: 'arn:sns', ResourceType: 'AWS::SNS::Topic', ResourceStatus: 'CREATE_COMPLETE', LastUpdatedTimestamp: new Date() },
        ],
      });
      assert.deepEqual(await retainedResources(clients.cfn, STACK_ID, 'prod'), [{ stack: 'prod', logicalId: 'Logs', resourceType: 'AWS::Logs::LogGroup', physicalId: '/dcos/prod' }]);
    });

    it('malformed answers and broken connections are one line naming the call', () => {
      const where = { region: 'eu-west-1' };
      const garbage = Object.assign(new Error('@aws-sdk XML parse error: unexpected content.\n  Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object.'), { $metadata: { httpStatusCode: 500, attempts: 8 } });
      assert.equal((translateAwsError(garbage, 'DescribeStacks', where) as Error).message, 'AWS answered DescribeStacks with HTTP 500 with a body that is not an AWS API answer, 8 attempts. It is a server-side problem: run the command again in a minute.');
      const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
      assert.match((translateAwsError(reset, 'DescribeStackEvents', where) as Error).message, /^The connection to AWS in eu-west-1 broke during DescribeStackEvents \(ECONNRESET: socket hang up\)\. Check the network and run again\.$/);
      const html = Object.assign(new Error('an HTML page (HTTP 200)'), { name: 'HtmlAnswer', $metadata: { httpStatusCode: 200 } });
      assert.match((translateAwsError(html, 'DescribeStacks', where) as Error).message, /^The endpoint answered DescribeStacks with an HTML page \(HTTP 200\), not an AWS API answer\. Check the network/);
    });
  });
});
