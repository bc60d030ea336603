/**
 * `npm run drift` as the user runs it: the CLI as a subprocess against moto_server (which does not
 * implement drift detection: the user gets one clear line, no stack trace), and the real SDK clients
 * of `connect` against a loopback endpoint answering in CloudFormation's query protocol (XML) the way
 * AWS does, to show that throttling is retried and a refused permission is named by its call.
 */
import { CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { execa } from 'execa';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { connect } from '../lib/deploy/aws.js';
import { detectDrift } from '../lib/drift/detect.js';
import { summarizeDrift } from '../lib/drift/report.js';
import { UserError } from '../lib/errors.js';
import { motoEnv, startMotoOrSkip, stopMoto, type Moto } from './moto.js';

const CLI = fileURLToPath(new URL('../lib/cli.js', import.meta.url));
const TRACE = /^\s+at .*(\.js|\.ts):\d+/m;

/** Runs the CLI (asynchronously, so an endpoint served by this process keeps answering). */
const drift = (...args: string[]) => execa(process.execPath, [CLI, 'drift', ...args], { reject: false, env: { AWS_EC2_METADATA_DISABLED: 'true' } });

describe('npm run drift against moto_server (the CLI as a subprocess)', function () {
  let moto: Moto | undefined;

  before(async function () {
    moto = await startMotoOrSkip(this);
    const { cfn } = await connect({ endpointUrl: moto.endpoint, region: 'us-east-1' });
    await cfn.send(new CreateStackCommand({ StackName: 'dcos-drift', TemplateBody: JSON.stringify({ Resources: { Logs: { Type: 'AWS::Logs::LogGroup' } } }) }));
    cfn.destroy();
  });
  after(() => stopMoto(moto));

  it('says in one line that the emulator does not implement drift detection: no report, no stack trace, exit 1', async () => {
    const run = await drift('--stack-name', 'dcos-drift', '--endpoint-url', moto!.endpoint, '--region', 'us-east-1');
    assert.equal(run.exitCode, 1, run.stderr);
    assert.match(run.stderr, /^Detecting drift on dcos-drift \.\.\.$/m);
    assert.match(
      run.stderr,
      /^error: DetectStackDrift \(stack dcos-drift\) got no AWS answer from http:\/\/127\.0\.0\.1:\d+ \(HTTP 500\)\. The emulator at --endpoint-url probably does not implement CloudFormation drift detection \(moto does not\); run drift against AWS\.$/m,
    );
    assert.doesNotMatch(run.stderr, TRACE);
    assert.equal(run.stdout, '');
  });

  it('names a stack that does not exist, and the region it looked in', async () => {
    const run = await drift('--stack-name', 'dcos-typo', '--endpoint-url', moto!.endpoint, '--region', 'eu-west-1');
    assert.equal(run.exitCode, 1);
    assert.match(run.stderr, /^error: Stack dcos-typo does not exist in eu-west-1\. Check --stack-name and --region \(or --profile\)\.$/m);
    assert.doesNotMatch(run.stderr, TRACE);
  });

  it('refuses a missing stack name, a bad --timeout and an unknown option with exit 2, and documents its exit codes', async () => {
    const missing = await drift('--endpoint-url', moto!.endpoint);
    assert.equal(missing.exitCode, 2);
    assert.match(missing.stderr, /^error: --stack-name NAME is required\./m);
    const timeout = await drift('--stack-name', 'dcos-drift', '--timeout', '5m');
    assert.equal(timeout.exitCode, 2);
    assert.match(timeout.stderr, /^error: --timeout 5m: expected whole seconds from 1 to 86400\.$/m);
    const unknown = await drift('--stack-name', 'dcos-drift', '--yes');
    assert.equal(unknown.exitCode, 2);
    assert.match(unknown.stderr, /Unknown option '--yes'/);
    const help = await drift('--help');
    assert.equal(help.exitCode, 0);
    assert.match(help.stdout, /^ {2}0 {2}in sync/m);
    assert.match(help.stdout, /^ {2}3 {2}drift found$/m);
    assert.match(help.stdout, /^ {2}4 {2}nothing drifted among what was checked/m);
  });
});

/** A CloudFormation endpoint on loopback answering a fixed script in the query protocol, as AWS does. */
class FakeCloudFormation {
  readonly calls: string[] = [];
  private server: Server | undefined;
  /** Answers to give, by action, before the normal one: an error code and HTTP status each. */
  readonly errors: Record<string, { code: string; status: number; message: string }[]> = {};

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const action = new URLSearchParams(body).get('Action') ?? '';
        this.calls.push(action);
        const error = this.errors[action]?.shift();
        const [status, xml] = error
          ? [error.status, `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${error.code}</Code><Message>${error.message}</Message></Error><RequestId>7e1f0a6c-0000-4000-8000-000000000001</RequestId></ErrorResponse>`]
          : [200, `<${action}Response xmlns="${NS}"><${action}Result>${RESULTS[action] ?? ''}</${action}Result><ResponseMetadata><RequestId>7e1f0a6c-0000-4000-8000-000000000002</RequestId></ResponseMetadata></${action}Response>`];
        res.writeHead(status, { 'content-type': 'text/xml' }).end(xml);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

const NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
const STACK_ID = 'arn:aws:cloudformation:us-east-1:111122223333:stack/dcos-prod/5e1c0a70-0000-4000-8000-000000000001';
const RESULTS: Record<string, string> = {
  DescribeStacks: `<Stacks><member><StackId>${STACK_ID}</StackId><StackName>dcos-prod</StackName><StackStatus>UPDATE_COMPLETE</StackStatus><CreationTime>2026-03-02T10:15:00.000Z</CreationTime></member></Stacks>`,
  ListStackResources: '<StackResourceSummaries></StackResourceSummaries>',
  DetectStackDrift: '<StackDriftDetectionId>1b1c2d3e-3d1f-11f1-9a4e-0a1b2c3d4e5f</StackDriftDetectionId>',
  DescribeStackDriftDetectionStatus: `<StackId>${STACK_ID}</StackId><StackDriftDetectionId>1b1c2d3e-3d1f-11f1-9a4e-0a1b2c3d4e5f</StackDriftDetectionId><StackDriftStatus>IN_SYNC</StackDriftStatus><DetectionStatus>DETECTION_COMPLETE</DetectionStatus><DriftedStackResourceCount>0</DriftedStackResourceCount><Timestamp>2026-03-02T10:15:09.000Z</Timestamp>`,
  DescribeStackResourceDrifts: `<StackResourceDrifts><member><StackId>${STACK_ID}</StackId><LogicalResourceId>Logs</LogicalResourceId><PhysicalResourceId>dcos-prod-Logs-1A2B3C</PhysicalResourceId><ResourceType>AWS::Logs::LogGroup</ResourceType><ExpectedProperties>{}</ExpectedProperties><ActualProperties>{}</ActualProperties><PropertyDifferences/><StackResourceDriftStatus>IN_SYNC</StackResourceDriftStatus><Timestamp>2026-03-02T10:15:08.000Z</Timestamp></member></StackResourceDrifts>`,
};

describe('drift through the real SDK clients against an endpoint answering like AWS', () => {
  let fake: FakeCloudFormation;
  let endpoint: string;

  beforeEach(async () => {
    motoEnv(); // test credentials only; nothing here talks to moto
    fake = new FakeCloudFormation();
    endpoint = await fake.start();
  });
  afterEach(() => fake.stop());

  it('retries a throttled status poll with backoff and completes', async () => {
    fake.errors['DescribeStackDriftDetectionStatus'] = [
      { code: 'Throttling', status: 400, message: 'Rate exceeded' },
      { code: 'Throttling', status: 400, message: 'Rate exceeded' },
    ];
    const clients = await connect({ endpointUrl: endpoint, region: 'us-east-1' });
    const stacks = await detectDrift({ clients, stackName: 'dcos-prod', endpointUrl: endpoint, progress: () => {}, pollMs: 1 });
    assert.deepEqual(fake.calls, ['DescribeStacks', 'ListStackResources', 'DetectStackDrift', ...Array(3).fill('DescribeStackDriftDetectionStatus'), 'DescribeStackResourceDrifts']);
    const report = summarizeDrift('dcos-prod', 'us-east-1', stacks);
    assert.equal(report.verdict, 'in-sync');
    assert.deepEqual(report.stacks.map((s) => [s.stack, s.inSync]), [['Root', 1]]);
  });

  it('names the call a missing permission refused, with AWS words, and goes no further', async () => {
    const denied = 'User: arn:aws:iam::111122223333:user/ops is not authorized to perform: cloudformation:DetectStackDrift on resource: ' + STACK_ID;
    fake.errors['DetectStackDrift'] = [{ code: 'AccessDenied', status: 403, message: denied }];
    const clients = await connect({ endpointUrl: endpoint, region: 'us-east-1' });
    await assert.rejects(detectDrift({ clients, stackName: 'dcos-prod', endpointUrl: endpoint, progress: () => {}, pollMs: 1 }), (err: unknown) => {
      assert.ok(err instanceof UserError);
      assert.match(err.message, /^Access denied: DetectStackDrift in us-east-1 was refused\. Grant the permission for this call/);
      assert.ok(err.message.includes(`AWS said: ${denied}`));
      return true;
    });
    assert.deepEqual(fake.calls, ['DescribeStacks', 'ListStackResources', 'DetectStackDrift']);
  });

  it('the CLI prints the report and exits 0 when in sync, and prints the same report as JSON with --json', async () => {
    const text = await drift('--stack-name', 'dcos-prod', '--endpoint-url', endpoint, '--region', 'us-east-1');
    assert.equal(text.exitCode, 0, text.stderr);
    assert.match(text.stdout, /^Drift of dcos-prod \(us-east-1\): no drifted resources found\.$/m);
    assert.match(text.stdout, /^\| Root +\| complete +\| 0 +\| 1 +\| 0 +\| 0 +\|$/m);
    assert.match(text.stdout, /drift: dcos-prod: in sync \(exit 0\)\.$/);
    assert.match(text.stderr, /^ {2}Root: IN_SYNC \(\d+ s\)$/m);
    const json = await drift('--stack-name', 'dcos-prod', '--endpoint-url', endpoint, '--region', 'us-east-1', '--json');
    assert.equal(json.exitCode, 0, json.stderr);
    const report = JSON.parse(json.stdout) as { verdict: string; exitCode: number; stacks: { stack: string }[] };
    assert.deepEqual([report.verdict, report.exitCode, report.stacks.map((s) => s.stack)], ['in-sync', 0, ['Root']]);
  });

  it('the CLI names the refused call in one line, without a stack trace', async () => {
    fake.errors['ListStackResources'] = [{ code: 'AccessDenied', status: 403, message: 'User: arn:aws:iam::111122223333:user/ops is not authorized to perform: cloudformation:ListStackResources' }];
    const run = await drift('--stack-name', 'dcos-prod', '--endpoint-url', endpoint, '--region', 'us-east-1');
    assert.equal(run.exitCode, 1);
    assert.match(run.stderr, /^error: Access denied: ListStackResources in us-east-1 was refused\./m);
    assert.doesNotMatch(run.stderr, TRACE);
  });
});
