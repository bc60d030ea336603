/**
 * npm run package end to end against a local moto_server: the real cluster's templates uploaded under
 * content-hash keys and skipped the second time, out/packaged/ written, and the packaged root creating
 * a stack (nested stacks read from the bucket) with nothing passed for TemplateBaseUrl, as from the
 * console's "Upload a template file".
 */
import { CreateStackCommand, DescribeStacksCommand, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, GetBucketEncryptionCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type AwsClients } from '../lib/deploy/aws.js';
import { readManifest, sha256, templateKey } from '../lib/manifest.js';
import { compile, writeOutput } from '../lib/synth.js';
import { parseTemplate } from '../lib/yaml.js';
import { DEFINITIONS } from './helpers/template.js';
import { motoAvailable, motoEnv, startMoto, stopMoto, type Moto } from './moto.js';
import { writeCluster } from './moto-fixtures.js';

const CLI = join(process.cwd(), 'dist/lib/cli.js');

describe('npm run package against moto_server (end to end)', function () {
  let moto: Moto | undefined;
  let clients: AwsClients;
  let out: string;
  const dirs: string[] = [];

  const run = (...args: string[]) =>
    spawnSync(process.execPath, [CLI, 'package', '--endpoint-url', moto!.endpoint, '--region', 'us-east-1', '--skip-synth-check', ...args], {
      encoding: 'utf8',
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    });

  before(async function () {
    if (!motoAvailable()) this.skip();
    motoEnv();
    moto = await startMoto();
    clients = await connect({ endpointUrl: moto.endpoint, region: 'us-east-1' });
    out = mkdtempSync(join(tmpdir(), 'dcos-cfn-package-'));
    dirs.push(out);
    await writeOutput(compile(DEFINITIONS['default']!), out);
    await clients.s3.send(new CreateBucketCommand({ Bucket: 'console-templates' }));
  });
  after(async () => {
    await stopMoto(moto);
    dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
  });

  const body = async (bucket: string, key: string) => (await clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body!.transformToString();

  it('uploads the nested templates and the packaged root under content-hash keys, byte for byte', async () => {
    const result = run('--out', out, '--bucket', 'console-templates', '--prefix', '/dcos/v1/');
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /Templates in s3:\/\/console-templates\/dcos\/v1: 5 uploaded, 0 already there\./);

    const manifest = readManifest(out);
    const packagedRoot = readFileSync(join(out, 'packaged', 'root.yaml'), 'utf8');
    const expected = [
      ...Object.values(manifest.stacks).map((s) => `dcos/v1/${templateKey(s.file, s.sha256)}`),
      `dcos/v1/${templateKey('root.yaml', sha256(packagedRoot))}`,
    ].sort();
    const listed = await clients.s3.send(new ListObjectsV2Command({ Bucket: 'console-templates' }));
    assert.deepEqual((listed.Contents ?? []).map((o) => o.Key).sort(), expected);
    for (const s of Object.values(manifest.stacks)) {
      assert.equal(await body('console-templates', `dcos/v1/${templateKey(s.file, s.sha256)}`), readFileSync(join(out, s.file), 'utf8'), s.file);
    }
    assert.equal(await body('console-templates', expected.find((k) => k.includes('/root-'))!), packagedRoot);
  });

  it("writes out/packaged/: synth's root with TemplateBaseUrl defaulting to the bucket folder, and each object as uploaded", () => {
    const packaged = readFileSync(join(out, 'packaged', 'root.yaml'), 'utf8');
    const base = `http://localhost:${new URL(moto!.endpoint).port}/console-templates/dcos/v1`;
    const parsed = parseTemplate(packaged) as any;
    const original = parseTemplate(readFileSync(join(out, 'root.yaml'), 'utf8')) as any;
    assert.equal(parsed.Parameters.TemplateBaseUrl.Default, base);
    delete parsed.Parameters.TemplateBaseUrl.Default;
    assert.deepEqual(parsed, original, 'nothing else changes');
    const manifest = readManifest(out);
    assert.deepEqual(
      readdirSync(join(out, 'packaged')).sort(),
      ['root.yaml', ...Object.values(manifest.stacks).map((s) => templateKey(s.file, s.sha256))].sort(),
    );
  });

  it('prints the root template URL and a quick-create link for the region', () => {
    const result = run('--out', out, '--bucket', 'console-templates', '--prefix', 'dcos/v1', '--stack-name', 'prod');
    assert.equal(result.status, 0, result.stderr);
    const rootUrl = /^Root template: +(\S+)$/m.exec(result.stdout)?.[1];
    assert.match(rootUrl ?? '', /^http:\/\/localhost:\d+\/console-templates\/dcos\/v1\/root-[0-9a-f]{64}\.yaml$/);
    const link = new URL(/^Console: +(\S+)$/m.exec(result.stdout)![1]!);
    assert.equal(link.host, 'us-east-1.console.aws.amazon.com');
    assert.equal(link.searchParams.get('region'), 'us-east-1');
    const fragment = new URLSearchParams(link.hash.replace(/^#\/stacks\/quickcreate\?/, ''));
    assert.equal(fragment.get('templateURL'), rootUrl);
    assert.equal(fragment.get('stackName'), 'prod');
  });

  it('skips what is already in the bucket and writes the same bytes again', () => {
    const before = readFileSync(join(out, 'packaged', 'root.yaml'));
    const result = run('--out', out, '--bucket', 'console-templates', '--prefix', 'dcos/v1');
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /: 0 uploaded, 5 already there\./);
    assert.deepEqual(readFileSync(join(out, 'packaged', 'root.yaml')), before);
  });

  it('creates a stack from the packaged root alone: no TemplateBaseUrl typed, nested stacks read from the bucket', async () => {
    // GIVEN the fixture cluster (two nested stacks moto can create), packaged into the default bucket
    const fixture = writeCluster();
    dirs.push(fixture);
    const result = run('--out', fixture);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /Creating S3 bucket dcos-cfn-templates-123456789012-us-east-1/);
    const encryption = await clients.s3.send(new GetBucketEncryptionCommand({ Bucket: 'dcos-cfn-templates-123456789012-us-east-1' }));
    assert.equal(encryption.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm, 'AES256');
    // WHEN the packaged root is uploaded as a file (TemplateBody), and by its URL (quick create), with only the cluster's own parameter
    const rootUrl = /^Root template: +(\S+)$/m.exec(result.stdout)![1]!;
    // (each stack its own ClusterName: the fixture names its log group after it)
    const parameters = (name: string) => [{ ParameterKey: 'ClusterName', ParameterValue: name }];
    await clients.cfn.send(new CreateStackCommand({ StackName: 'from-file', TemplateBody: readFileSync(join(fixture, 'packaged', 'root.yaml'), 'utf8'), Parameters: parameters('from-file') }));
    await clients.cfn.send(new CreateStackCommand({ StackName: 'from-url', TemplateURL: rootUrl, Parameters: parameters('from-url') }));
    // THEN both stacks complete with their nested stacks
    for (const name of ['from-file', 'from-url']) {
      let status: string | undefined;
      for (let i = 0; i < 100 && !/COMPLETE|FAILED/.test(status ?? ''); i++) {
        status = (await clients.cfn.send(new DescribeStacksCommand({ StackName: name }))).Stacks?.[0]?.StackStatus;
        if (!/COMPLETE|FAILED/.test(status ?? '')) await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(status, 'CREATE_COMPLETE', name);
      const resources = await clients.cfn.send(new ListStackResourcesCommand({ StackName: name }));
      assert.deepEqual(
        (resources.StackResourceSummaries ?? []).filter((r) => r.ResourceType === 'AWS::CloudFormation::Stack').map((r) => [r.LogicalResourceId, r.ResourceStatus]).sort(),
        [['Logs', 'CREATE_COMPLETE'], ['Network', 'CREATE_COMPLETE']],
      );
    }
  });

  it('explains a missing bucket, a bad prefix and a missing out/, without a stack trace', () => {
    const missing = run('--out', out, '--bucket', 'no-such-bucket');
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^error: S3 bucket no-such-bucket \(--bucket\) does not exist\. Create it in us-east-1/m);
    const prefix = run('--out', out, '--bucket', 'console-templates', '--prefix', 'a//b');
    assert.equal(prefix.status, 2);
    assert.match(prefix.stderr, /--prefix a\/\/b: use letters, digits/);
    const bucket = run('--out', out, '--bucket', 'Bad_Bucket');
    assert.equal(bucket.status, 2);
    assert.match(bucket.stderr, /--bucket Bad_Bucket: an S3 bucket name has 3-63/);
    const noOut = run('--out', join(tmpdir(), 'no-such-out'));
    assert.equal(noOut.status, 1);
    assert.match(noOut.stderr, /no-such-out\/manifest\.json not found\. Run 'npm run synth' first\./);
    for (const r of [missing, prefix, bucket, noOut]) assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});
