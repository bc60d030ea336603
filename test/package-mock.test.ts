/**
 * What moto over plain http cannot show, with aws-sdk-client-mock shaped like real responses: a real
 * region's virtual-hosted S3 URLs and console link, the default bucket named from the STS account and
 * created in the region with its TLS-only policy, and a 403 on an upload reaching the caller.
 */
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import {
  CreateBucketCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { EC2Client } from '@aws-sdk/client-ec2';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AwsClients } from '../lib/deploy/aws.js';
import { loadTemplates } from '../lib/deploy/templates.js';
import { packageTemplates, quickCreateUrl } from '../lib/package.js';
import { writeCluster } from './moto-fixtures.js';

const REGION = 'eu-west-1';
const notFound = () => new S3ServiceException({ name: 'NotFound', $fault: 'client', $metadata: { httpStatusCode: 404 }, message: 'Not Found' });

describe('npm run package (mocked AWS)', () => {
  // Mocks on these client instances only, so other test files' real clients stay untouched.
  const clients: AwsClients = { cfn: new CloudFormationClient({ region: REGION }), s3: new S3Client({ region: REGION }), sts: new STSClient({ region: REGION }), ec2: new EC2Client({ region: REGION }), region: REGION, calls: {} };
  const s3 = mockClient(clients.s3);
  const sts = mockClient(clients.sts);
  let out: string;

  beforeEach(() => {
    s3.reset();
    sts.reset();
    out = writeCluster();
  });
  afterEach(() => rmSync(out, { recursive: true, force: true }));
  after(() => {
    s3.restore();
    sts.restore();
  });

  it("creates the default bucket in the region with the TLS-only policy, and links the region's console", async () => {
    sts.on(GetCallerIdentityCommand).resolves({ Account: '111122223333', Arn: 'arn:aws:iam::111122223333:user/ci', UserId: 'AIDA' });
    s3.on(HeadBucketCommand).rejects(notFound());
    s3.on(HeadObjectCommand).rejects(notFound());
    s3.on(CreateBucketCommand).resolves({ Location: `http://dcos-cfn-templates-111122223333-${REGION}.s3.amazonaws.com/` });
    s3.on(PutPublicAccessBlockCommand).resolves({});
    s3.on(PutBucketEncryptionCommand).resolves({});
    s3.on(PutBucketPolicyCommand).resolves({});
    s3.on(PutObjectCommand).resolves({ ETag: '"etag"' });

    const printed: string[] = [];
    const result = await packageTemplates({ clients, templates: loadTemplates(out), prefix: 'team', print: (l) => printed.push(l) });

    const bucket = 'dcos-cfn-templates-111122223333-eu-west-1';
    assert.equal(result.bucket, bucket);
    assert.equal(s3.commandCalls(CreateBucketCommand)[0]!.args[0].input.CreateBucketConfiguration?.LocationConstraint, REGION);
    const policy = JSON.parse(s3.commandCalls(PutBucketPolicyCommand)[0]!.args[0].input.Policy!);
    assert.equal(policy.Statement[0].Condition.Bool['aws:SecureTransport'], 'false');
    assert.equal(result.templateBaseUrl, `https://${bucket}.s3.${REGION}.amazonaws.com/team`);
    assert.match(result.rootUrl, new RegExp(`^https://${bucket}\\.s3\\.eu-west-1\\.amazonaws\\.com/team/root-[0-9a-f]{64}\\.yaml$`));
    assert.equal(result.consoleUrl, quickCreateUrl(REGION, result.rootUrl, 'fixture'));
    assert.ok(result.consoleUrl.startsWith('https://eu-west-1.console.aws.amazon.com/cloudformation/home?region=eu-west-1#/stacks/quickcreate?templateURL=https%3A%2F%2F'));
    assert.deepEqual(s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key!.replace(/-[0-9a-f]{64}/, '-<sha>')).sort(), [
      'team/logs-<sha>.yaml',
      'team/network-<sha>.yaml',
      'team/root-<sha>.yaml',
    ]);
    assert.deepEqual(printed, [
      `Creating S3 bucket ${bucket} for templates (encrypted, public access blocked, TLS only).`,
      `Templates in s3://${bucket}/team: 3 uploaded, 0 already there.`,
    ]);
  });

  it('uses a given bucket as it is: no STS call, nothing created, existing objects skipped', async () => {
    s3.on(HeadBucketCommand).resolves({});
    s3.on(HeadObjectCommand).resolves({ ContentLength: 1 });
    const result = await packageTemplates({ clients, templates: loadTemplates(out), bucket: 'shared-templates', print: () => {} });
    assert.equal(sts.commandCalls(GetCallerIdentityCommand).length, 0);
    assert.equal(s3.commandCalls(CreateBucketCommand).length + s3.commandCalls(PutBucketPolicyCommand).length + s3.commandCalls(PutObjectCommand).length, 0);
    assert.equal(result.uploaded.length, 0);
    assert.equal(result.skipped.length, 3);
    assert.equal(result.templateBaseUrl, `https://shared-templates.s3.${REGION}.amazonaws.com`);
  });

  it('lets a refused upload reach the caller instead of reporting success', async () => {
    s3.on(HeadBucketCommand).resolves({});
    s3.on(HeadObjectCommand).rejects(notFound());
    s3.on(PutObjectCommand).rejects(new S3ServiceException({ name: 'AccessDenied', $fault: 'client', $metadata: { httpStatusCode: 403 }, message: 'Access Denied' }));
    await assert.rejects(packageTemplates({ clients, templates: loadTemplates(out), bucket: 'shared-templates', print: () => {} }), /Access Denied/);
  });

  it("replaces out/packaged/ whole: the previous package's files go, and nothing staged stays behind", async () => {
    s3.on(HeadBucketCommand).resolves({});
    s3.on(HeadObjectCommand).resolves({ ContentLength: 1 });
    mkdirSync(join(out, 'packaged'));
    writeFileSync(join(out, 'packaged', 'root.yaml'), 'the previous packaged root');
    writeFileSync(join(out, 'packaged', `network-${'a'.repeat(64)}.yaml`), 'a previous network template');
    const before = readdirSync(out).sort();
    await packageTemplates({ clients, templates: loadTemplates(out), bucket: 'shared-templates', print: () => {} });
    assert.deepEqual(readdirSync(out).sort(), before, 'no staging folder beside packaged/');
    const written = readdirSync(join(out, 'packaged')).sort();
    assert.deepEqual(written.map((f) => f.replace(/-[0-9a-f]{64}/, '-<sha>')), ['logs-<sha>.yaml', 'network-<sha>.yaml', 'root.yaml']);
    assert.ok(!written.includes(`network-${'a'.repeat(64)}.yaml`));
    assert.notEqual(readFileSync(join(out, 'packaged', 'root.yaml'), 'utf8'), 'the previous packaged root');
  });

  it('refuses a file it did not write inside out/packaged/, before any upload, and keeps it', async () => {
    mkdirSync(join(out, 'packaged'));
    writeFileSync(join(out, 'packaged', 'params-prod.json'), '[]');
    await assert.rejects(
      packageTemplates({ clients, templates: loadTemplates(out), bucket: 'shared-templates', print: () => {} }),
      /^UserError: .* holds packaged\/params-prod\.json, which package did not write: it replaces .*\/packaged\/ whole, so move it out first\. Nothing was uploaded\.$/,
    );
    assert.equal(s3.commandCalls(HeadBucketCommand).length + s3.commandCalls(PutObjectCommand).length, 0);
    assert.equal(readFileSync(join(out, 'packaged', 'params-prod.json'), 'utf8'), '[]');
  });
});
