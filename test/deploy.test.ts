/**
 * End to end against a local moto_server over HTTP: create, unchanged redeploy, update of one nested
 * stack, diff, destroy, missing credentials. The fixture is a root with two nested stacks wired
 * through outputs (test/fixtures/deploy/cluster).
 */
import { DescribeStacksCommand, GetStackPolicyCommand, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { GetBucketEncryptionCommand, GetPublicAccessBlockCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type AwsClients } from '../lib/deploy/aws.js';
import type { DeployProps } from '../lib/deploy/deploy.js';
import { destroy } from '../lib/deploy/destroy.js';
import { diff } from '../lib/deploy/diff.js';
import { measureDeploy } from './helpers/measure.js';
import { loadTemplates } from '../lib/deploy/templates.js';
import { motoAvailable, motoEnv, startMoto, stopMoto, type Moto } from './moto.js';
import { writeCluster } from './moto-fixtures.js';

const STACK = 'e2e';
const CLI = fileURLToPath(new URL('../lib/cli.js', import.meta.url));

describe('deploy against moto_server (end to end)', function () {
  let moto: Moto | undefined;
  let clients: AwsClients;
  let out: string;
  const lines: string[] = [];

  before(async function () {
    if (!motoAvailable()) this.skip();
    motoEnv();
    moto = await startMoto();
    clients = await connect({ endpointUrl: moto.endpoint, region: 'us-east-1' });
    out = writeCluster();
  });
  after(async () => {
    await stopMoto(moto);
    if (out) rmSync(out, { recursive: true, force: true });
  });

  const props = (dir: string, extra: Partial<DeployProps> = {}): Omit<DeployProps, 'clients'> => ({
    templates: loadTemplates(dir),
    stackName: STACK,
    parameters: {},
    endpointUrl: moto!.endpoint,
    confirm: async () => true,
    print: (line) => lines.push(line),
    pollMs: 20,
    eventPollMs: 20,
    ...extra,
  });

  it('creates the stack, its nested stacks and the hardened template bucket, and prints the outputs', async () => {
    const { result } = await measureDeploy({ endpointUrl: moto!.endpoint, region: 'us-east-1' }, props(out, { parameters: { ClusterName: 'fixture' } }));
    assert.equal(result.kind, 'deployed');
    assert.ok(result.kind === 'deployed');
    assert.equal(result.status, 'CREATE_COMPLETE');
    assert.deepEqual(
      Object.fromEntries(result.outputs.map((o) => [o.OutputKey, o.OutputValue])),
      { VpcId: result.outputs.find((o) => o.OutputKey === 'VpcId')?.OutputValue, LogGroupName: '/dcos/fixture' },
    );
    assert.match(result.outputs.find((o) => o.OutputKey === 'VpcId')?.OutputValue ?? '', /^vpc-/);

    const stack = (await clients.cfn.send(new DescribeStacksCommand({ StackName: STACK }))).Stacks![0]!;
    assert.equal(stack.EnableTerminationProtection, true);
    const nested = (await clients.cfn.send(new ListStackResourcesCommand({ StackName: STACK }))).StackResourceSummaries!;
    assert.deepEqual(nested.map((r) => r.LogicalResourceId).sort(), ['Logs', 'Network']);
    const policy = JSON.parse((await clients.cfn.send(new GetStackPolicyCommand({ StackName: nested.find((r) => r.LogicalResourceId === 'Network')!.PhysicalResourceId! }))).StackPolicyBody!);
    assert.deepEqual(policy.Statement[1].Resource, ['LogicalResourceId/PrivateSubnet', 'LogicalResourceId/Vpc']);

    const bucket = 'dcos-cfn-templates-123456789012-us-east-1';
    const keys = (await clients.s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents!.map((o) => o.Key).sort();
    assert.equal(keys.length, 2);
    assert.match(keys[0]!, /^logs-[0-9a-f]{64}\.yaml$/);
    assert.equal((await clients.s3.send(new GetBucketEncryptionCommand({ Bucket: bucket }))).ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm, 'AES256');
    assert.equal((await clients.s3.send(new GetPublicAccessBlockCommand({ Bucket: bucket }))).PublicAccessBlockConfiguration?.BlockPublicPolicy, true);
  });

  it('an unchanged redeploy says no changes and makes no write call, after checking every stack policy', async () => {
    const measured = await measureDeploy({ endpointUrl: moto!.endpoint, region: 'us-east-1' }, props(out));
    assert.equal(measured.result.kind, 'no-op');
    assert.equal(measured.writeCalls, 0);
    assert.deepEqual(measured.calls, { DescribeStacks: 1, GetTemplate: 1, ListStackResources: 1, GetStackPolicy: 3 });
  });

  it('diff shows the one nested stack that changed and leaves the stack as it was', async () => {
    const changed = writeCluster((file, text) => (file === 'logs.yaml' ? text.replace('RetentionInDays: 30', 'RetentionInDays: 90') : text), mkdtempSync(join(tmpdir(), 'deploy-v2-')));
    try {
      const result = await diff({ ...props(changed), clients });
      assert.equal(result.kind, 'changes');
      assert.ok(result.kind === 'changes');
      // read through Logs' nested change set (launcher, gap 26): the log group inside it is what changes
      assert.match(result.preview.text, /^ {2}~ Logs \(nested stack\)\n {6}~ ClusterLogs +AWS::Logs::LogGroup$/m);
      assert.doesNotMatch(result.preview.text, /unknown/);
      assert.doesNotMatch(result.preview.text, /Network/);
      const stack = (await clients.cfn.send(new DescribeStacksCommand({ StackName: STACK }))).Stacks![0]!;
      assert.equal(stack.StackStatus, 'CREATE_COMPLETE');
    } finally {
      rmSync(changed, { recursive: true, force: true });
    }
  });

  it('updates one nested stack, uploading only its new template', async () => {
    const changed = writeCluster((file, text) => (file === 'logs.yaml' ? text.replace('RetentionInDays: 30', 'RetentionInDays: 60') : text), mkdtempSync(join(tmpdir(), 'deploy-v2-')));
    try {
      lines.length = 0;
      const measured = await measureDeploy({ endpointUrl: moto!.endpoint, region: 'us-east-1' }, props(changed));
      assert.equal(measured.result.kind, 'deployed');
      assert.ok(measured.result.kind === 'deployed');
      assert.equal(measured.result.status, 'UPDATE_COMPLETE');
      assert.equal(measured.calls['PutObject'], 1);
      assert.ok(lines.includes('Templates in s3://dcos-cfn-templates-123456789012-us-east-1: 1 uploaded, 1 already there.'), lines.join('\n'));
      assert.match(lines.join('\n'), /^ {2}~ Logs \(nested stack\)\n {6}~ ClusterLogs +AWS::Logs::LogGroup$/m);
      assert.equal(measured.result.outputs.find((o) => o.OutputKey === 'LogGroupName')?.OutputValue, '/dcos/fixture');
      // and again: nothing left to do
      const again = await measureDeploy({ endpointUrl: moto!.endpoint, region: 'us-east-1' }, props(changed));
      assert.equal(again.result.kind, 'no-op');
      assert.equal(again.writeCalls, 0);
    } finally {
      rmSync(changed, { recursive: true, force: true });
    }
  });

  it('destroy refuses a protected stack without --force, then deletes it and lists what was retained', async () => {
    const base = { clients, stackName: STACK, confirm: async () => true, print: (l: string) => lines.push(l), eventPollMs: 20 };
    await assert.rejects(destroy(base), /termination protection on\. To delete it anyway, run destroy again with --force/);
    const result = await destroy({ ...base, force: true });
    assert.equal(result.kind, 'destroyed');
    assert.ok(result.kind === 'destroyed');
    assert.deepEqual(result.retained.map((r) => `${r.stack}/${r.logicalId}`).sort(), [
      'e2e/Logs/ClusterLogs',
      'e2e/Logs/ExhibitorBucket',
      'e2e/Network/PrivateSubnet',
      'e2e/Network/Vpc',
    ]);
    assert.equal((await destroy(base)).kind, 'absent');
  });

  it('the CLI says there are no credentials, with the fix and no stack trace', () => {
    const empty = mkdtempSync(join(tmpdir(), 'no-aws-'));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'],
      HOME: empty,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_REGION: 'us-east-1',
      AWS_CONFIG_FILE: join(empty, 'config'),
      AWS_SHARED_CREDENTIALS_FILE: join(empty, 'credentials'),
    };
    const run = spawnSync(process.execPath, [CLI, 'deploy', '--stack-name', STACK, '--out', out, '--skip-synth-check', '--endpoint-url', moto!.endpoint, '--yes'], { env, encoding: 'utf8' });
    rmSync(empty, { recursive: true, force: true });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^error: No AWS credentials found\. Configure credentials with one of: AWS_ACCESS_KEY_ID/);
    assert.doesNotMatch(run.stderr, /\bat .*\.js:\d+/);
    assert.doesNotMatch(run.stderr, /NodeVersionSupportWarning/, 'no SDK notice on a supported Node');
  });

  it('the CLI refuses a --parameter value outside its AllowedPattern before anything is created, naming the parameter, the value and the constraint (moto enforces none)', async () => {
    const strict = writeCluster((file, text) => (file === 'root.yaml' ? text.replace('    Default: 10.20.0.0/16\n', () => "    Default: 10.20.0.0/16\n    AllowedPattern: '^(\\d{1,3}\\.){3}\\d{1,3}/\\d{1,2}$'\n    ConstraintDescription: an IPv4 CIDR block\n") : text));
    const stack = 'e2e-constraints';
    const run = spawnSync(process.execPath, [CLI, 'deploy', '--stack-name', stack, '--out', strict, '--skip-synth-check', '--endpoint-url', moto!.endpoint, '--region', 'us-east-1', '--yes', '--parameter', 'ClusterName=fixture', '--parameter', 'CidrBlock=1.2.3.4'], { encoding: 'utf8', env: process.env });
    rmSync(strict, { recursive: true, force: true });
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stderr + run.stdout, /CidrBlock=1\.2\.3\.4 does not match its AllowedPattern \^\(\\d\{1,3\}\\\.\)\{3\}\\d\{1,3\}\/\\d\{1,2\}\$ \(an IPv4 CIDR block\)/);
    assert.doesNotMatch(run.stderr, /\bat .*\.js:\d+/);
    await assert.rejects(clients.cfn.send(new DescribeStacksCommand({ StackName: stack })), /does not exist/);
  });
});
