/**
 * `npm run bundle` against moto: the real CLI uploads a genconf/serve folder (a stand-in made from the genconf/ synth
 * wrote) under the definition's bucket and folder, makes the bucket private first, skips what is already there, and
 * refuses, before uploading anything, a folder generated for another bootstrap_url. Read back with the SDK.
 */
import { CreateBucketCommand, GetBucketEncryptionCommand, GetObjectCommand, GetPublicAccessBlockCommand, HeadBucketCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleRecordOf, installerBootstrapUrl, uploadBundle } from '../lib/bundle.js';
import { parseManifest, type BundleLocation } from '../lib/manifest.js';
import { compile, writeOutput } from '../lib/synth.js';
import defaultCluster from '../stacks/clusters/default.js';
import { genconfOf, writeServeFolder } from './boot/bundle.js';
import { emulatorEnv, expectRun, runCli } from './helpers/cli.js';
import { startMotoOrSkip, stopMoto, type Moto } from './moto.js';

describe('npm run bundle (against moto)', function () {
  let moto: Moto | undefined;
  let s3: S3Client;
  let dir: string;
  let out: string;
  let location: BundleLocation;

  before(async function () {
    moto = await startMotoOrSkip(this);
    s3 = new S3Client({ endpoint: moto.endpoint, forcePathStyle: true, region: 'us-east-1' });
    dir = mkdtempSync(join(tmpdir(), 'dcos-cfn-bundle-'));
    out = join(dir, 'out');
    await writeOutput(compile(defaultCluster), out);
    location = parseManifest(out).bundle!;
  });
  after(async () => {
    s3?.destroy();
    await stopMoto(moto);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const bundle = (...args: string[]) => runCli(['bundle', '--out', out, '--endpoint-url', moto!.endpoint, ...args], { env: emulatorEnv() });
  const keys = async () => ((await s3.send(new ListObjectsV2Command({ Bucket: location.bucket }))).Contents ?? []).map((o) => o.Key!).sort();
  const serveFolder = (name: string, edit: Partial<ReturnType<typeof genconfOf>> = {}) => {
    const serve = join(dir, name);
    writeServeFolder(serve, { ...genconfOf(defaultCluster), ...edit });
    return serve;
  };

  it('refuses a folder without dcos_install.sh, saying what --serve must be', async () => {
    expectRun(await bundle('--serve', join(dir, 'nowhere')), 1, /dcos_install\.sh not found: --serve must be the genconf\/serve folder dcos_generate_config\.sh makes/);
  });

  it('refuses a bundle generated for another bootstrap_url, before making or uploading anything', async () => {
    const serve = serveFolder('other', { bootstrapUrl: 'https://bundles.example.com/dcos' });
    expectRun(await bundle('--serve', serve), 1, new RegExp(`was generated for bootstrap_url https://bundles\\.example\\.com/dcos, but this cluster's nodes fetch the bundle from ${location.url.replaceAll('.', '\\.')}\\. Generate it again from the config\\.yaml synth wrote \\(out/genconf\\)`));
    await assert.rejects(keys(), /NoSuchBucket|does not exist/);
  });

  it("refuses a bundle whose static master_list is not this synth's masters, naming both lists and the fix, before uploading anything", async () => {
    const expected = genconfOf(defaultCluster).masterList;
    const serve = serveFolder('other-masters', { masterList: ['10.0.99.10'] });
    expectRun(
      await bundle('--serve', serve),
      1,
      new RegExp(`has master_list 10\\.0\\.99\\.10, but this synth places the masters at ${expected.join(', ').replaceAll('.', '\\.')} \\(out/genconf/config\\.yaml\\).*Run dcos_generate_config\\.sh on this synth's out/genconf, then npm run bundle; nothing was uploaded`),
    );
    await assert.rejects(keys(), /NoSuchBucket|does not exist/);
  });

  it("refuses a --region other than the definition's", async () => {
    expectRun(await bundle('--serve', serveFolder('region'), '--region', 'eu-west-1'), 2, /--region eu-west-1: the cluster is defined for us-east-1, where its bundle bucket/);
  });

  it('makes the bucket private and uploads the folder under bootstrap_url, then only what changed', async () => {
    const serve = serveFolder('serve');
    const first = await bundle('--serve', serve);
    expectRun(first, 0, new RegExp(`Creating S3 bucket ${location.bucket} for the DC/OS bundle \\(encrypted, public access blocked`));
    assert.match(first.stdout, /Bundle in s3:\/\/\S+\/dcos\/: 3 uploaded, 0 already there/);
    assert.match(first.stdout, new RegExp(`The nodes fetch it from ${location.url.replaceAll('.', '\\.')} \\(bootstrap_url\\)`));
    const uploaded = await keys();
    assert.equal(uploaded.length, 4);
    assert.ok(uploaded.every((k) => k.startsWith(`${location.prefix}/`)), uploaded.join(' '));
    assert.ok(uploaded.includes(`${location.prefix}/dcos_install.sh`));
    // Next to the bundle: the genconf it was made from, which deploy and diff compare with their out/.
    const record = JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: `${location.prefix}/dcos-cfn-genconf.json` }))).Body!.transformToString());
    assert.deepEqual(record, { genconf: parseManifest(out).genconf, masterList: genconfOf(defaultCluster).masterList });
    const block = (await s3.send(new GetPublicAccessBlockCommand({ Bucket: location.bucket }))).PublicAccessBlockConfiguration;
    assert.deepEqual(block, { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true });
    const encryption = (await s3.send(new GetBucketEncryptionCommand({ Bucket: location.bucket }))).ServerSideEncryptionConfiguration?.Rules?.[0];
    assert.equal(encryption?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm, 'AES256', 'S3-managed keys: the nodes read without signing');

    expectRun(await bundle('--serve', serve), 0, /Bundle in s3:\/\/\S+\/dcos\/: 0 uploaded, 3 already there/);
    writeFileSync(join(serve, 'dcos_install.sh'), `${readFileSync(join(serve, 'dcos_install.sh'), 'utf8')}# regenerated\n`);
    expectRun(await bundle('--serve', serve), 0, /Bundle in s3:\/\/\S+\/dcos\/: 1 uploaded, 2 already there/);
  });
});

describe('the bootstrap_url of a dcos_install.sh', () => {
  it("is read from its repository-url setup flag, as DC/OS's bash installer writes it", () => {
    const installer = "mkdir -p `dirname /etc/mesosphere/setup-flags/repository-url`\ncat <<'EOF' > \"/etc/mesosphere/setup-flags/repository-url\"\nhttps://b.s3.eu-west-1.amazonaws.com/dcos\nEOF\n";
    assert.equal(installerBootstrapUrl(installer), 'https://b.s3.eu-west-1.amazonaws.com/dcos');
    assert.equal(installerBootstrapUrl('#!/bin/bash\necho no flags\n'), undefined);
  });
});

describe('npm run bundle: a bucket name someone else has', () => {
  it('says so and how to pick another, before uploading anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dcos-cfn-bundle-taken-'));
    try {
      const out = join(dir, 'out');
      await writeOutput(compile(defaultCluster), out);
      const serve = join(dir, 'serve');
      writeServeFolder(serve, genconfOf(defaultCluster));
      const client = new S3Client({ region: 'us-east-1' });
      const s3 = mockClient(client);
      s3.on(HeadBucketCommand).rejects(Object.assign(new Error('Not Found'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }));
      s3.on(CreateBucketCommand).rejects(Object.assign(new Error('The requested bucket name is not available.'), { name: 'BucketAlreadyExists', $metadata: { httpStatusCode: 409 } }));
      await assert.rejects(
        uploadBundle({ s3: client, location: parseManifest(out).bundle!, record: bundleRecordOf(out, parseManifest(out)), serve, print: () => {} }),
        /^UserError: S3 bucket dcos-dcos-bundle-us-east-1 belongs to another account .*Set bundle\.bucket in the cluster definition to a name of your own/,
      );
      assert.equal(s3.commandCalls(PutObjectCommand).length, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
