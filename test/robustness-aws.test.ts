/**
 * The robustness corpus, AWS part: the real CLI as a subprocess against moto_server, through a loopback proxy
 * (test/proxy.ts) that holds a call's answer while the test sends SIGINT or SIGTERM (an interrupt at a known
 * phase), or answers like a failing AWS or network: throttling, an expired token, HTTP 500, an HTML page, a
 * reset connection, a failed change set with its nested reasons and validation events. Each case asserts the
 * exit code, a message pattern, no stack trace, and the emulated stacks afterwards, read back with the SDK:
 * what a run created and did not execute is gone; an executed run's protections are applied by the next run.
 */
import {
  CreateChangeSetCommand,
  DescribeStacksCommand,
  GetStackPolicyCommand,
  ListChangeSetsCommand,
  ListStackResourcesCommand,
} from '@aws-sdk/client-cloudformation';
import { DescribeInstanceAttributeCommand } from '@aws-sdk/client-ec2';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type AwsClients } from '../lib/deploy/aws.js';
import { emulatorEnv, expectRun, runCli, startCli, type CliOptions, type CliResult } from './helpers/cli.js';
import { motoAvailable, startMoto, stopMoto, type Moto } from './moto.js';
import { tempFolders } from './helpers/temp.js';
import { writeCluster } from './moto-fixtures.js';
import { awsError, EXPIRED, FaultProxy, HTML_PAGE, SERVER_ERROR, THROTTLED, type Behaviour } from './proxy.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('robustness against moto_server through a fault-injecting proxy (the real CLI)', function () {
  this.timeout(120_000);
  let moto: Moto | undefined;
  let proxy: FaultProxy;
  let clients: AwsClients;
  let out: string;
  let changed: string;
  let counter = 0;
  const stackName = () => `robust-${++counter}`;

  before(async function () {
    if (!motoAvailable()) this.skip();
    process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
    moto = await startMoto();
    proxy = await new FaultProxy(moto.endpoint).start();
    clients = await connect({ endpointUrl: moto.endpoint, region: 'us-east-1' });
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'testing', AWS_SECRET_ACCESS_KEY: 'testing' });
    out = writeCluster();
    changed = writeCluster((file, text) => (file === 'logs.yaml' ? text.replace('RetentionInDays: 30', 'RetentionInDays: 60') : text), mkdtempSync(join(tmpdir(), 'robust-v2-')));
  });
  after(async () => {
    await proxy?.stop();
    await stopMoto(moto);
    for (const dir of [out, changed]) if (dir) rmSync(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    proxy?.reset();
    proxy?.clearCalls();
  });

  // Each stack its own cluster name: the log group it names is retained, and a second one would conflict.
  const deployArgs = (stack: string, ...extra: string[]) => ['deploy', '--stack-name', stack, '--out', out, '--skip-synth-check', '--endpoint-url', proxy.endpoint, '--parameter', `ClusterName=${stack}`, ...extra];
  const deploy = (stack: string, ...extra: string[]) => runCli(deployArgs(stack, '--yes', ...extra));

  /** The stack's status, or undefined when it is gone. */
  async function statusOf(stack: string): Promise<string | undefined> {
    try {
      const status = (await clients.cfn.send(new DescribeStacksCommand({ StackName: stack }))).Stacks?.[0]?.StackStatus;
      return status === 'DELETE_COMPLETE' ? undefined : status;
    } catch (err) {
      if (/does not exist/.test((err as Error).message)) return undefined;
      throw err;
    }
  }

  async function changeSetsOf(stack: string): Promise<string[]> {
    return ((await clients.cfn.send(new ListChangeSetsCommand({ StackName: stack }))).Summaries ?? []).map((s) => s.ChangeSetName ?? '?');
  }

  /** Termination protection, and each stack's denied logical IDs (null: no policy at all). */
  async function protectionsOf(stack: string): Promise<{ termination: boolean; denied: Record<string, string[] | null> }> {
    const root = (await clients.cfn.send(new DescribeStacksCommand({ StackName: stack }))).Stacks![0]!;
    const nested = (await clients.cfn.send(new ListStackResourcesCommand({ StackName: stack }))).StackResourceSummaries ?? [];
    const denied: Record<string, string[] | null> = {};
    for (const [id, physical] of [['Root', stack], ...nested.map((r) => [r.LogicalResourceId!, r.PhysicalResourceId!])] as [string, string][]) {
      const body = (await clients.cfn.send(new GetStackPolicyCommand({ StackName: physical }))).StackPolicyBody;
      denied[id] = body ? ((JSON.parse(body).Statement as { Effect: string; Resource: string[] }[]).find((s) => s.Effect === 'Deny')?.Resource ?? []) : null;
    }
    return { termination: root.EnableTerminationProtection ?? false, denied };
  }

  const PROTECTED = {
    termination: true,
    denied: { Root: [], Network: ['LogicalResourceId/PrivateSubnet', 'LogicalResourceId/Vpc'], Logs: ['LogicalResourceId/ClusterLogs', 'LogicalResourceId/ExhibitorBucket'] },
  };

  /** Runs the CLI, holds the answer to the `nth` call of `action`, sends `signal` while it is held, then lets it go. */
  async function interruptAt(action: string, signal: NodeJS.Signals, args: string[], nth = 1, options: CliOptions = {}): Promise<CliResult> {
    proxy.clearCalls();
    const unhold = proxy.hold(action, nth);
    const run = startCli(args, options);
    while ((proxy.calls.filter((c) => c === action).length < nth) && run.child.exitCode === null) await sleep(10);
    await sleep(50);
    run.child.kill(signal);
    await sleep(150);
    unhold();
    proxy.release();
    return run.done;
  }

  /** The exact resume command an interrupted or cut-off deploy printed, as CLI arguments. */
  function resumeArgs(run: CliResult): string[] {
    const line = /npm run deploy -- (.+ --follow)/.exec(run.output)?.[1];
    assert.ok(line, `no resume command in:\n${run.output}`);
    return ['deploy', ...line.replace(/'$/, '').split(' ')];
  }

  describe('interrupts before execution delete what the run created', () => {
    const cases: [string, string, NodeJS.Signals, RegExp][] = [
      ['while uploading', 'S3:HEAD', 'SIGINT', /Interrupted \(SIGINT\)\. Nothing was left to undo\./],
      ['while the change set is being created', 'CreateChangeSet', 'SIGINT', /Interrupted \(SIGINT\)\.\n  Deleted change set dcos-cfn-\S+ and the empty stack \(REVIEW_IN_PROGRESS\) it created; nothing else was changed\./],
      ['while waiting for the change set', 'DescribeChangeSet', 'SIGTERM', /Interrupted \(SIGTERM\)\.\n  Deleted change set dcos-cfn-\S+ and the empty stack \(REVIEW_IN_PROGRESS\) it created/],
    ];
    for (const [phase, action, signal, message] of cases) {
      it(`a create interrupted ${phase} (${signal}) leaves no stack and no change set`, async () => {
        const stack = stackName();
        expectRun(await interruptAt(action, signal, deployArgs(stack, '--yes')), 130, message);
        assert.equal(await statusOf(stack), undefined);
      });
    }

    it('an update interrupted while waiting for its change set deletes the change set and leaves the stack as it was', async () => {
      const stack = stackName();
      expectRun(await deploy(stack), 0, /CREATE_COMPLETE/);
      const args = [...deployArgs(stack, '--yes')];
      args[args.indexOf(out)] = changed;
      expectRun(await interruptAt('DescribeChangeSet', 'SIGINT', args), 130, /Deleted change set dcos-cfn-\S+; the stack was not changed\./);
      assert.equal(await statusOf(stack), 'CREATE_COMPLETE');
      assert.deepEqual(await changeSetsOf(stack), []);
      assert.deepEqual(await protectionsOf(stack), PROTECTED);
    });

    it('a diff interrupted while waiting for its change set leaves nothing behind', async () => {
      const stack = stackName();
      const run = await interruptAt('DescribeChangeSet', 'SIGINT', ['diff', '--stack-name', stack, '--out', out, '--skip-synth-check', '--endpoint-url', proxy.endpoint, '--parameter', `ClusterName=${stack}`]);
      expectRun(run, 130, /Deleted change set dcos-cfn-\S+ and the empty stack/);
      assert.equal(await statusOf(stack), undefined);
    });
  });

  describe('the prompt', () => {
    it('without a terminal and without --yes, refuses before any AWS call', async () => {
      const stack = stackName();
      proxy.clearCalls();
      expectRun(await runCli(deployArgs(stack)), 1, /Not a terminal, so no one can confirm: pass --yes to go ahead without asking, or --no-execute .*Nothing was created\./);
      assert.deepEqual(proxy.calls, []);
      assert.equal(await statusOf(stack), undefined);
    });

    it("answering 'n' deletes the change set and the empty stack", async () => {
      const stack = stackName();
      const run = await runCli(deployArgs(stack), { pty: { trigger: '[y/N]', reply: 'n\\r' } });
      expectRun(run, 1, /Not executed\. Deleted change set dcos-cfn-\S+ and the empty stack \(REVIEW_IN_PROGRESS\) it created/);
      assert.equal(await statusOf(stack), undefined);
    });

    it('Ctrl-C at the prompt deletes the change set and the empty stack, exit 130', async () => {
      const stack = stackName();
      const run = await runCli(deployArgs(stack), { pty: { trigger: '[y/N]', reply: '\\x03' } });
      expectRun(run, 130, /Interrupted \(SIGINT\)\.\s+Deleted change set dcos-cfn-\S+ and the empty stack/);
      assert.equal(await statusOf(stack), undefined);
    });

    it('a second deploy while the first waits at its prompt is refused, and takes nothing from the first', async () => {
      const stack = stackName();
      const first = startCli(deployArgs(stack), { pty: { trigger: '[y/N]', reply: 'wait' } });
      await first.waitForOutput(/\[y\/N\]/);
      const second = await deploy(stack);
      expectRun(second, 1, new RegExp(`Stack ${stack} has change sets in flight, so another deploy, diff or console user is working on it:\\n  - dcos-cfn-\\S+ \\(created .*\\), waiting for another deploy \\(or diff\\) to execute or delete it`));
      assert.equal((await changeSetsOf(stack)).length, 1, 'the first deploy keeps its change set');
      first.child.stdin!.write('n\\r\n');
      expectRun(await first.done, 1, /Not executed\. Deleted change set/);
      assert.equal(await statusOf(stack), undefined);
    });

    it('a deploy refuses while a change set of another deploy is pending on an existing stack', async () => {
      const stack = stackName();
      expectRun(await deploy(stack), 0, /CREATE_COMPLETE/);
      const deployed = (await clients.cfn.send(new DescribeStacksCommand({ StackName: stack }))).Stacks![0]!.Parameters!;
      await clients.cfn.send(
        new CreateChangeSetCommand({
          StackName: stack,
          ChangeSetName: 'dcos-cfn-other',
          ChangeSetType: 'UPDATE',
          UsePreviousTemplate: true,
          Parameters: deployed.map((p) => (p.ParameterKey === 'CidrBlock' ? { ParameterKey: 'CidrBlock', ParameterValue: '10.30.0.0/16' } : p)),
          Description: 'dcos-cfn deploy in progress: shown, gated and executed (or deleted) by the deploy that created it',
        }),
      );
      const args = deployArgs(stack, '--yes');
      args[args.indexOf(out)] = changed;
      expectRun(await runCli(args), 1, /has change sets in flight[\s\S]*dcos-cfn-other[\s\S]*aws cloudformation delete-change-set --stack-name robust-\d+ --change-set-name dcos-cfn-other/);
      assert.deepEqual(await changeSetsOf(stack), ['dcos-cfn-other']);
    });
  });

  describe('interrupts during execution leave CloudFormation running and say how to finish', () => {
    it('SIGINT while following: exit 130 and the --follow command, which then applies the protections', async () => {
      const stack = stackName();
      const run = await interruptAt('DescribeStackEvents', 'SIGINT', deployArgs(stack, '--yes'));
      expectRun(run, 130, /CloudFormation (has finished: CREATE_COMPLETE\.\n  To apply|keeps going on its own \(now \w+\); nothing was cancelled\.\n  To follow it to the end and apply) the stack policies and termination protection, run:\n    npm run deploy -- --stack-name robust-\d+ --endpoint-url \S+ --follow/);
      assert.deepEqual(await protectionsOf(stack), { termination: false, denied: { Root: null, Network: null, Logs: null } });
      const resumed = await runCli(resumeArgs(run));
      expectRun(resumed, 0, /Stack policy set on robust-\d+\/Network\.[\s\S]*Termination protection enabled/);
      assert.deepEqual(await protectionsOf(stack), PROTECTED);
    });

    it('SIGTERM while following: the next plain deploy says "No changes" and applies the protections', async () => {
      const stack = stackName();
      expectRun(await interruptAt('DescribeStackEvents', 'SIGTERM', deployArgs(stack, '--yes')), 130, /Interrupted \(SIGTERM\)/);
      const next = await deploy(stack);
      expectRun(next, 0, /No changes: the root template, parameters and tags equal what is deployed\. Nothing was written\./);
      assert.match(next.output, /Termination protection enabled on robust-\d+\./);
      assert.deepEqual(await protectionsOf(stack), PROTECTED);
      expectRun(await deploy(stack), 0, /No changes/);
    });

    it('SIGINT while the protections are applied: the next run completes them', async () => {
      const stack = stackName();
      expectRun(await interruptAt('SetStackPolicy', 'SIGINT', deployArgs(stack, '--yes'), 2), 130, /--follow/);
      assert.notDeepEqual(await protectionsOf(stack), PROTECTED);
      expectRun(await deploy(stack), 0, /No changes/);
      assert.deepEqual(await protectionsOf(stack), PROTECTED);
    });

    it('--follow on a settled stack, without out/: says so, replays nothing, applies the protections from the deployed templates', async () => {
      const stack = stackName();
      expectRun(await interruptAt('SetStackPolicy', 'SIGINT', deployArgs(stack, '--yes')), 130, /--follow/);
      const run = await runCli(['deploy', '--stack-name', stack, '--out', join(tmpdir(), 'dcos-no-such-out'), '--endpoint-url', proxy.endpoint, '--follow']);
      expectRun(run, 0, /^Stack robust-\d+ is CREATE_COMPLETE: no operation is in progress, so there is nothing to follow\.\n[\s\S]*Outputs of robust-\d+:/);
      assert.doesNotMatch(run.output, /^ {2}\d\d:\d\d {2}/m, 'no event replayed');
      assert.doesNotMatch(run.output, / in \d+ s\./, 'no duration');
      assert.deepEqual(await protectionsOf(stack), PROTECTED);
      expectRun(await runCli(['deploy', '--stack-name', stack, '--endpoint-url', proxy.endpoint, '--follow']), 0, /nothing to follow\.\nOutputs of/);
    });
  });

  describe('a lost event stream is not a failed deploy', () => {
    const afterExecute = (action: RegExp, behaviour: Behaviour, times = Infinity) => {
      let used = 0;
      return proxy.on((call) => (proxy.calls.includes('ExecuteChangeSet') && call.action !== 'ExecuteChangeSet' && action.test(call.action) && used++ < times ? behaviour : undefined));
    };

    it('events throttled for good: follows the status instead, finishes and protects', async () => {
      const stack = stackName();
      afterExecute(/^DescribeStackEvents$/, THROTTLED);
      const run = await deploy(stack);
      expectRun(run, 0, /\(events unavailable: AWS kept throttling DescribeStackEvents after 2 attempts with backoff\. .*; following the stack's status instead, with backoff\)[\s\S]*CREATE_COMPLETE/);
      assert.deepEqual(await protectionsOf(stack), PROTECTED);
    });

    it('status and events throttled for a while, then answered: finishes normally', async () => {
      const stack = stackName();
      afterExecute(/^DescribeStack(s|Events)$/, THROTTLED, 4);
      const run = await deploy(stack);
      expectRun(run, 0, /unavailable: AWS kept throttling[\s\S]*robust-\d+: CREATE_COMPLETE/);
      assert.deepEqual(await protectionsOf(stack), PROTECTED);
    });

    it('a connection reset while following: finishes normally', async () => {
      const stack = stackName();
      afterExecute(/^DescribeStackEvents$/, { kind: 'reset' }, 2);
      expectRun(await deploy(stack), 0, /The connection to .* broke during DescribeStackEvents[\s\S]*CREATE_COMPLETE/);
      assert.deepEqual(await protectionsOf(stack), PROTECTED);
    });

    it('credentials that expire while following: says the stack keeps going and how to resume; the resume protects', async () => {
      const stack = stackName();
      const stop = afterExecute(/./, EXPIRED);
      const run = await deploy(stack);
      expectRun(run, 1, /Lost track of stack .* \(last seen \w+\): The AWS credentials have expired \(\w+ was refused\)[\s\S]*CloudFormation keeps going on its own; nothing was cancelled\. Once that is fixed, run 'npm run deploy -- --stack-name robust-\d+ .*--follow'/);
      stop();
      expectRun(await runCli(resumeArgs(run)), 0, /Termination protection enabled/);
      assert.deepEqual(await protectionsOf(stack), PROTECTED);
    });
  });

  describe('malformed and failing service answers are one line, never a hang', () => {
    it('HTTP 500 with a body that is not AWS\'s', async () => {
      proxy.fail('DescribeStacks', SERVER_ERROR);
      expectRun(await deploy(stackName()), 1, /^error: AWS answered DescribeStacks with HTTP 500 with a body that is not an AWS API answer, 2 attempts\. It is a server-side problem: run the command again in a minute\./m);
    });

    it('an HTML page with HTTP 200 (a portal or a wrong endpoint)', async () => {
      proxy.fail('DescribeStacks', HTML_PAGE);
      const started = Date.now();
      expectRun(await deploy(stackName()), 1, /^error: The endpoint answered DescribeStacks with an HTML page \(HTTP 200\), not an AWS API answer\. Check --endpoint-url http:\/\/127\.0\.0\.1:\d+ and run again\./m);
      assert.ok(Date.now() - started < 20_000, 'answered quickly');
    });

    it('an HTML page while waiting for the change set: the change set and the empty stack are deleted', async () => {
      const stack = stackName();
      proxy.fail('DescribeChangeSet', HTML_PAGE);
      const run = await deploy(stack);
      expectRun(run, 1, /The endpoint answered DescribeChangeSet with an HTML page[\s\S]*Deleted change set dcos-cfn-\S+ and the empty stack/);
      assert.equal(await statusOf(stack), undefined);
    });

    it('an AWS error no one expects is one line with the call and what to do', async () => {
      proxy.fail('CreateChangeSet', { kind: 'answer', status: 400, body: awsError('LimitExceededException', 'Cannot exceed quota for StacksPerAccount: 2000') });
      const stack = stackName();
      expectRun(await deploy(stack), 1, /^error: AWS CreateChangeSet failed \(HTTP 400\): LimitExceededException: Cannot exceed quota for StacksPerAccount: 2000\. An account quota is reached/m);
      assert.equal(await statusOf(stack), undefined);
    });

    it('a failed change set is explained from its nested change set and validation events, in one screen, and deleted', async () => {
      const stack = stackName();
      const nestedArn = `arn:aws:cloudformation:us-east-1:123456789012:changeSet/dcos-cfn-x-Logs-ABC123/11111111-2222-4333-8444-555555555555`;
      const changeSet = (reason: string, name: string, stackSuffix: string) =>
        `<DescribeChangeSetResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeChangeSetResult><ChangeSetName>${name}</ChangeSetName><ChangeSetId>${stackSuffix ? nestedArn : `arn:aws:cloudformation:us-east-1:123456789012:changeSet/${name}/00000000-0000-4000-8000-000000000001`}</ChangeSetId><StackName>${stack}${stackSuffix}</StackName><Status>FAILED</Status><ExecutionStatus>UNAVAILABLE</ExecutionStatus><StatusReason>${reason}</StatusReason><Changes/></DescribeChangeSetResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeChangeSetResponse>`;
      proxy.on((call) => {
        if (call.action === 'DescribeChangeSet') {
          return call.body.includes(encodeURIComponent(nestedArn))
            ? { kind: 'answer', status: 200, body: changeSet('The following hook(s)/validation failed: [AWS::EarlyValidation::ResourceExistenceCheck]. To troubleshoot Early Validation errors, use the DescribeEvents API for detailed failure information.', 'dcos-cfn-x-Logs-ABC123', '-Logs-ABC123') }
            : { kind: 'answer', status: 200, body: changeSet(`Nested change set ${nestedArn} was not successfully created: Currently in FAILED.`, 'dcos-cfn-x', '') };
        }
        if (call.action === 'DescribeEvents') {
          const events = call.body.includes(encodeURIComponent(nestedArn))
            ? `<member><EventId>e1</EventId><OperationType>CREATE_CHANGESET</OperationType><EventType>VALIDATION_ERROR</EventType><LogicalResourceId>ClusterLogs</LogicalResourceId><ResourceType>AWS::Logs::LogGroup</ResourceType><ValidationFailureMode>FAIL</ValidationFailureMode><ValidationName>NAME_CONFLICT_VALIDATION</ValidationName><ValidationStatus>FAILED</ValidationStatus><ValidationStatusReason>Resource of type 'AWS::Logs::LogGroup' with identifier '/dcos/fixture' already exists.</ValidationStatusReason><ValidationPath>/Resources/ClusterLogs/Properties/LogGroupName</ValidationPath></member>`
            : '';
          return { kind: 'answer', status: 200, body: `<DescribeEventsResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeEventsResult><OperationEvents>${events}</OperationEvents></DescribeEventsResult><ResponseMetadata><RequestId>2</RequestId></ResponseMetadata></DescribeEventsResponse>` };
        }
        return undefined;
      });
      const run = await deploy(stack);
      expectRun(run, 1, new RegExp(`error: Change set dcos-cfn-\\S+ failed: Nested change set .* was not successfully created: Currently in FAILED\\.\\n  - ${stack}/Logs/ClusterLogs \\(AWS::Logs::LogGroup\\): NAME_CONFLICT_VALIDATION: Resource of type 'AWS::Logs::LogGroup' with identifier '/dcos/fixture' already exists\\. \\[at /Resources/ClusterLogs/Properties/LogGroupName\\]\\nDeleted change set dcos-cfn-\\S+ and the empty stack \\(REVIEW_IN_PROGRESS\\) it created; nothing else was changed\\.\\nA resource with that name already exists outside this stack`));
      assert.ok(run.stderr.split('\n').length < 25, 'one screen');
      assert.equal(await statusOf(stack), undefined);
    });
  });

  describe('bad flags and names', () => {
    it('unknown --allow-replacement names are refused with the nearest real IDs, and nothing is left', async () => {
      const stack = stackName();
      const run = await deploy(stack, '--allow-replacement', 'NoSuchThing', 'Network/PrivateSubnt');
      expectRun(run, 2, /--allow-replacement names resources that are in neither the templates nor the change set:\n  - NoSuchThing: no such resource\n  - Network\/PrivateSubnt: no such resource; did you mean Network\/PrivateSubnet\?[\s\S]*Deleted change set dcos-cfn-\S+ and the empty stack/);
      assert.equal(await statusOf(stack), undefined);
    });
  });

  describe('the region', () => {
    const tmp = tempFolders('robust-region-');
    it('defaults to the one the synthesized cluster is defined for when none is configured, and says so; a configured one wins', async () => {
      const dir = writeCluster(undefined, tmp('robust-region-'));
      const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
      writeFileSync(join(dir, 'manifest.json'), JSON.stringify({ ...manifest, bundle: { region: 'eu-west-1', bucket: 'dcos-fixture-bundle-eu-west-1', prefix: 'fixture', url: 'https://dcos-fixture-bundle-eu-west-1.s3.eu-west-1.amazonaws.com/fixture' } }));
      const stack = stackName();
      const args = ['diff', '--stack-name', stack, '--out', dir, '--skip-synth-check', '--endpoint-url', proxy.endpoint, '--parameter', `ClusterName=${stack}`];
      const unset = { AWS_REGION: undefined, AWS_DEFAULT_REGION: undefined };
      const defaulted = await runCli(args, { env: emulatorEnv(unset) });
      expectRun(defaulted, 0, /Region: eu-west-1, the one cluster 'fixture' is defined for \(no --region, AWS_REGION, AWS_DEFAULT_REGION or profile region is configured\)\./);
      assert.match(defaulted.output, /dcos-cfn-templates-\d+-eu-west-1/);
      for (const configured of [emulatorEnv({ ...unset, AWS_DEFAULT_REGION: 'us-east-1' }), emulatorEnv()]) {
        const run = await runCli(args, { env: configured });
        expectRun(run, 0, /dcos-cfn-templates-\d+-us-east-1/);
        assert.doesNotMatch(run.output, /Region: /);
      }
      const flagged = await runCli([...args, '--region', 'us-east-1'], { env: emulatorEnv(unset) });
      expectRun(flagged, 0, /dcos-cfn-templates-\d+-us-east-1/);
    });
  });

  describe('a closed output (| head -1)', () => {
    it('ends diff quietly, exit 141 as SIGPIPE ends other CLIs: no stack trace, no change set or stack left', async () => {
      const stack = stackName();
      const run = startCli(['diff', '--stack-name', stack, '--out', out, '--skip-synth-check', '--endpoint-url', proxy.endpoint, '--parameter', `ClusterName=${stack}`]);
      run.child.stdout!.destroy(); // the reader is gone before the first line
      const result = await run.done;
      assert.doesNotMatch(result.stderr, /EPIPE|Unhandled 'error'|node:events/, result.stderr);
      expectRun(result, 141, /^(|\nInterrupted \(SIGPIPE\)\.[\s\S]*)$/);
      assert.equal(await statusOf(stack), undefined);
    });
  });

  describe('destroy', () => {
    const tmp = tempFolders('robust-destroy-');
    it('interrupted while turning termination protection off (--force) turns it back on and deletes nothing', async () => {
      const stack = stackName();
      expectRun(await deploy(stack), 0, /CREATE_COMPLETE/);
      const run = await interruptAt('UpdateTerminationProtection', 'SIGINT', ['destroy', '--stack-name', stack, '--endpoint-url', proxy.endpoint, '--force', '--yes']);
      expectRun(run, 130, /Termination protection turned back on on robust-\d+\.\n  Stack robust-\d+ was not deleted\./);
      assert.equal(await statusOf(stack), 'CREATE_COMPLETE');
      assert.equal((await protectionsOf(stack)).termination, true);
    });

    /** A stack of the fixture with an instance its template protects from termination, deployed with protection on. */
    async function guardedStack(): Promise<{ stack: string; instance: string }> {
      const stack = stackName();
      const guarded = '  Guarded:\n    Type: AWS::EC2::Instance\n    Properties:\n      ImageId: ami-12345678\n      InstanceType: t3.micro\n      SubnetId: !Ref PrivateSubnet\n      DisableApiTermination: true\nOutputs:\n';
      const dir = writeCluster((file, text) => (file === 'network.yaml' ? text.replace('Outputs:\n', guarded) : text), tmp('robust-guarded-'));
      const args = deployArgs(stack, '--yes');
      args[args.indexOf(out)] = dir;
      expectRun(await runCli(args), 0, /CREATE_COMPLETE/);
      const network = (await clients.cfn.send(new ListStackResourcesCommand({ StackName: stack }))).StackResourceSummaries!.find((r) => r.LogicalResourceId === 'Network')!.PhysicalResourceId!;
      const instance = (await clients.cfn.send(new ListStackResourcesCommand({ StackName: network }))).StackResourceSummaries!.find((r) => r.LogicalResourceId === 'Guarded')!.PhysicalResourceId!;
      assert.equal(await instanceProtected(instance), true, 'the template protects it');
      return { stack, instance };
    }
    const instanceProtected = async (instance: string) =>
      (await clients.ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: instance, Attribute: 'disableApiTermination' }))).DisableApiTermination?.Value;

    it("interrupted while turning an instance's protection off puts back the instance's and the stack's, and deletes nothing", async () => {
      const { stack, instance } = await guardedStack();
      const run = await interruptAt('ModifyInstanceAttribute', 'SIGINT', ['destroy', '--stack-name', stack, '--endpoint-url', proxy.endpoint, '--force', '--yes']);
      expectRun(run, 130, new RegExp(`Interrupted \\(SIGINT\\)\\.\\n[\\s\\S]*^  Instance termination protection turned back on on ${stack}/Network/Guarded \\(${instance}\\)\\.\\n  Termination protection turned back on on ${stack}\\.\\n  Stack ${stack} was not deleted\\.`, 'm'));
      assert.equal(await statusOf(stack), 'CREATE_COMPLETE');
      assert.equal((await protectionsOf(stack)).termination, true);
      assert.equal(await instanceProtected(instance), true);
    });

    it("a refused DeleteStack puts back the instance's and the stack's protection, and says so", async () => {
      const { stack, instance } = await guardedStack();
      proxy.fail('DeleteStack', { kind: 'answer', status: 403, body: awsError('AccessDenied', `User: arn:aws:iam::123456789012:user/ops is not authorized to perform: cloudformation:DeleteStack on resource: ${stack}`) });
      const run = await runCli(['destroy', '--stack-name', stack, '--endpoint-url', proxy.endpoint, '--force', '--yes']);
      expectRun(run, 1, new RegExp(`error: Access denied: DeleteStack in us-east-1 was refused\\.[^\\n]*\\n  AWS said: [^\\n]*cloudformation:DeleteStack[^\\n]*\\nInstance termination protection turned back on on ${stack}/Network/Guarded \\(${instance}\\)\\.\\nTermination protection turned back on on ${stack}\\.\\nStack ${stack} was not deleted\\.`));
      assert.equal(await statusOf(stack), 'CREATE_COMPLETE');
      assert.equal((await protectionsOf(stack)).termination, true);
      assert.equal(await instanceProtected(instance), true);
    });

    it('a stack that does not exist is not an error: said, exit 0, as delete-stack and cdk destroy do', async () => {
      expectRun(await runCli(['destroy', '--stack-name', 'robust-never-made', '--endpoint-url', proxy.endpoint, '--yes']), 0, /^Stack robust-never-made does not exist in us-east-1; nothing to destroy\.$/m);
      assert.ok(!proxy.calls.includes('DeleteStack'));
    });

    it('lists RetainExceptOnCreate resources as retained', async () => {
      const stack = stackName();
      const dir = writeCluster((file, text) => (file === 'logs.yaml' ? text.replace('DeletionPolicy: Retain\n    UpdateReplacePolicy: Retain\n    Properties:\n      LogGroupName', 'DeletionPolicy: RetainExceptOnCreate\n    UpdateReplacePolicy: Retain\n    Properties:\n      LogGroupName') : text), tmp('robust-retain-'));
      assert.match(readFileSync(join(dir, 'logs.yaml'), 'utf8'), /RetainExceptOnCreate/);
      const args = deployArgs(stack, '--yes', '--no-termination-protection');
      args[args.indexOf(out)] = dir;
      expectRun(await runCli(args), 0, /CREATE_COMPLETE/);
      const run = await runCli(['destroy', '--stack-name', stack, '--endpoint-url', proxy.endpoint, '--yes']);
      expectRun(run, 0, new RegExp(`Retained[^\\n]*\\n(  - .*\\n)*  - ${stack}/Logs/ClusterLogs  AWS::Logs::LogGroup`));
    });
  });

});
