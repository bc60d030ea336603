/**
 * The real synthesized cluster (not a fixture) deployed to a local moto_server over HTTP: create, unchanged
 * redeploy, a change to one definition value that touches one nested stack, a new bundle location and a new agent
 * image that touch no master, destroy (which keeps exactly the retained resources), and a first create that fails
 * and keeps nothing. Everything is read back with the SDK.
 */
import { DescribeChangeSetCommand, DescribeStacksCommand, ListStackResourcesCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DescribeInstancesCommand, DescribeNetworkInterfacesCommand, DescribeSubnetsCommand, DescribeVolumesCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { DeleteObjectCommand, GetObjectCommand, HeadBucketCommand, ListBucketsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../lib/deploy/aws.js';
import type { DeployProps } from '../lib/deploy/deploy.js';
import { destroy } from '../lib/deploy/destroy.js';
import { diff } from '../lib/deploy/diff.js';
import { measureDeploy } from './helpers/measure.js';
import { loadTemplates } from '../lib/deploy/templates.js';
import { compile, writeOutput } from '../lib/synth.js';
import { defineCluster } from '../stacks/config.js';
import defaultCluster from '../stacks/clusters/default.js';
import { motoAvailable, motoEnv, startMoto, stopMoto, type Moto } from './moto.js';
import { genconfOf, uploadStandInBundle } from './boot/bundle.js';
import { motoCall } from './boot/cluster.js';

const STACK = 'dcos-e2e';
const PARAMETERS = { KeyName: 'ops', NodeImageId: 'ami-12345678', GatewayImageId: 'ami-0abcdef1234567890' };
/** The default cluster with six private agents and its bundle in another folder (a DC/OS upgrade's new bundle). */
const MOVED = defineCluster({ name: 'dcos', privateAgents: { count: 6 }, bundle: { prefix: 'dcos-2.2.1' } });

describe('the synthesized cluster on moto_server (end to end)', function () {
  let moto: Moto | undefined;
  const dirs: string[] = [];
  const lines: string[] = [];

  before(async function () {
    if (!motoAvailable()) {
      console.log('    NOTICE: moto is not installed; skipping the emulator tests');
      this.skip();
    }
    motoEnv();
    moto = await startMoto();
    // Both bundles this suite deploys go up before the first deploy: the stack's bucket policy then refuses plain
    // HTTP, which is how the tests reach the emulator (a user uploads over HTTPS).
    for (const config of [defaultCluster, MOVED]) await uploadStandInBundle(await synth(config), config, moto.endpoint);
  });
  after(async () => {
    await stopMoto(moto);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** Synthesizes a definition (with its audit, as `npm run synth` does) into a fresh folder. */
  async function synth(config = defaultCluster): Promise<string> {
    const dir = join(mkdtempSync(join(tmpdir(), 'dcos-e2e-')), 'out');
    dirs.push(join(dir, '..'));
    const { auditTemplateSet } = await import('../lib/audit/audit.js');
    await writeOutput(compile(config), dir, async (staging) => {
      assert.deepEqual((await auditTemplateSet(staging)).findings, []);
    });
    return dir;
  }

  /**
   * Deploys `dir`. The bundle check runs only when asked: once the stack stands, its bucket policy refuses plain
   * HTTP, which is how the tests reach the emulator, so the record cannot be read (over HTTPS, AWS lets the account read it).
   */
  const run = (dir: string, parameters: Record<string, string> = PARAMETERS, bundleCheck = false) =>
    measureDeploy({ endpointUrl: moto!.endpoint, region: 'us-east-1' }, {
      bundleCheck,
      templates: loadTemplates(dir),
      stackName: STACK,
      parameters,
      endpointUrl: moto!.endpoint,
      confirm: async () => true,
      print: (line) => lines.push(line),
      pollMs: 20,
      eventPollMs: 20,
    } satisfies Omit<DeployProps, 'clients'>);

  // GIVEN the bundle made from the default cluster's genconf (master_list 10.0.8.10...), WHEN out/ moved the masters
  // (another vpcCidr), THEN deploy refuses before any change set, and diff, told --skip-bundle-check, goes on.
  describe("the bundle's genconf record", () => {
    const MOVED_MASTERS = defineCluster({ name: 'dcos', vpcCidr: '10.1.0.0/16' });
    const record = `${defaultCluster.bundle?.prefix ?? 'dcos'}/dcos-cfn-genconf.json`;
    const diffOf = async (dir: string, props: { bundleCheck?: boolean } = {}) => {
      const clients = await connect({ endpointUrl: moto!.endpoint, region: 'us-east-1' });
      try {
        return await diff({ clients, templates: loadTemplates(dir), stackName: `${STACK}-diff`, parameters: PARAMETERS, endpointUrl: moto!.endpoint, print: (line) => lines.push(line), pollMs: 20, driftCheck: false, ...props });
      } finally {
        clients.cfn.destroy();
        clients.s3.destroy();
      }
    };

    it('refuses a deploy of an out/ whose master list is not the bundle\'s, naming both lists and the fix, before any change set', async () => {
      const bundled = genconfOf(defaultCluster).masterList;
      const moved = genconfOf(MOVED_MASTERS).masterList;
      assert.notDeepEqual(moved, bundled);
      const dir = await synth(MOVED_MASTERS);
      await assert.rejects(
        run(dir, PARAMETERS, true),
        new RegExp(`^UserError: The DC/OS bundle in s3://dcos-dcos-bundle-us-east-1/dcos/ was made from another genconf than .*: its master_list is ${bundled.join(', ').replaceAll('.', '\\.')}, but .* places the masters at ${moved.join(', ').replaceAll('.', '\\.')}\\. .*Make the bundle from this .*/genconf \\(dcos_generate_config\\.sh\\) and run npm run bundle, or pass --skip-bundle-check`),
      );
      const clients = await connect({ endpointUrl: moto!.endpoint, region: 'us-east-1' });
      await assert.rejects(clients.cfn.send(new DescribeStacksCommand({ StackName: STACK })), /does not exist/);
      clients.cfn.destroy();
      await assert.rejects(diffOf(dir), /was made from another genconf than/);
    });

    it('goes on with --skip-bundle-check', async () => {
      const result = await diffOf(await synth(MOVED_MASTERS), { bundleCheck: false });
      assert.equal(result.kind, 'changes');
    });

    it('refuses to create a stack whose bundle bucket does not exist (its bucket policy would fail the create), and diff notes it', async () => {
      const elsewhere = defineCluster({ name: 'dcos', bundle: { bucket: 'dcos-e2e-no-bundle-yet' } });
      const dir = await synth(elsewhere);
      await assert.rejects(
        run(dir, PARAMETERS, true),
        /^UserError: The DC\/OS bundle's bucket dcos-e2e-no-bundle-yet does not exist, so creating the stack would fail at Network\/BundleBucketPolicy \(the policy needs the bucket\) and roll back\. Run npm run bundle first: .* Nothing was created\.$/,
      );
      const clients = await connect({ endpointUrl: moto!.endpoint, region: 'us-east-1' });
      await assert.rejects(clients.cfn.send(new DescribeStacksCommand({ StackName: STACK })), /does not exist/);
      clients.cfn.destroy();
      lines.length = 0;
      assert.equal((await diffOf(dir)).kind, 'changes');
      assert.ok(lines.some((l) => l.startsWith('Note: no DC/OS bundle yet: bucket dcos-e2e-no-bundle-yet does not exist.')), lines.join('\n'));
    });

    it('notes a bundle uploaded before npm run bundle recorded its genconf, and goes on', async () => {
      const s3 = new S3Client({ endpoint: moto!.endpoint, forcePathStyle: true, region: 'us-east-1' });
      const Bucket = 'dcos-dcos-bundle-us-east-1';
      const kept = await (await s3.send(new GetObjectCommand({ Bucket, Key: record }))).Body!.transformToString();
      await s3.send(new DeleteObjectCommand({ Bucket, Key: record }));
      try {
        lines.length = 0;
        const result = await diffOf(await synth(MOVED_MASTERS));
        assert.equal(result.kind, 'changes');
        assert.ok(lines.includes(`Note: s3://${Bucket}/${record} not found: the bundle was uploaded before npm run bundle recorded its genconf, or not at all, so it was not checked here. Run npm run bundle to check it.`), lines.join('\n'));
      } finally {
        await s3.send(new PutObjectCommand({ Bucket, Key: record, Body: kept }));
        s3.destroy();
      }
    });
  });

  it('creates the four nested stacks and ends with the classic outputs', async () => {
    const { result, calls } = await run(await synth(), PARAMETERS, true);
    assert.equal(calls['GetObject'], 1, "the bundle's genconf record, read once");
    assert.equal(result.kind, 'deployed', lines.join('\n'));
    const outputs = Object.fromEntries((result.kind === 'deployed' ? result.outputs : []).map((o) => [o.OutputKey, o.OutputValue]));
    assert.match(outputs['DcosCli'] ?? '', /^ssh ubuntu@\d+\.\d+\.\d+\.\d+$/); // moto picks any address
    assert.match(outputs['InternalMaster'] ?? '', /^http:\/\/.+elb\.amazonaws\.com$/);
    assert.match(outputs['PublicSlave'] ?? '', /elb\.amazonaws\.com$/);
    assert.match(outputs['Vpn'] ?? '', /^\d+\.\d+\.\d+\.\d+:1194\/udp$/);
    assert.match(outputs['VpnClientProfile'] ?? '', /^aws s3 cp s3:\/\/\S+\/clients\/admin\.ovpn dcos-admin\.ovpn --region us-east-1$/);
    assert.equal(outputs['MasterAddresses'], '10.0.8.10');
    const clients = await connect({ endpointUrl: moto!.endpoint, region: 'us-east-1' });
    const resources = (await clients.cfn.send(new ListStackResourcesCommand({ StackName: STACK }))).StackResourceSummaries!;
    const nested = resources.filter((r) => r.ResourceType === 'AWS::CloudFormation::Stack');
    assert.deepEqual(nested.map((r) => r.LogicalResourceId).sort(), ['Agents', 'MasterZone', 'Network', 'Vpn']);
    assert.deepEqual(resources.filter((r) => r.ResourceType === 'AWS::SSM::Parameter').map((r) => [r.LogicalResourceId, r.PhysicalResourceId]), [['BundleUrl', `/dcos-cfn/${STACK}/bundle-url`]]);
  });

  it('redeploys unchanged output with reads only: the stack, its template and each stack policy', async () => {
    const measured = await run(await synth());
    assert.equal(measured.result.kind, 'no-op');
    assert.equal(measured.writeCalls, 0);
    assert.deepEqual(measured.calls, { DescribeStacks: 1, GetTemplate: 1, ListStackResources: 1, GetStackPolicy: 5 });
  });

  it("names the TLS-only bucket policy when a plain-http endpoint may not read the bundle's record", async () => {
    // Once the stack stands, its BundleBucketPolicy refuses requests without TLS: moto is reached over http.
    await assert.rejects(
      run(await synth(defineCluster({ name: 'dcos', privateAgents: { count: 6 } })), PARAMETERS, true),
      /^UserError: s3:\/\/dcos-dcos-bundle-us-east-1\/dcos\/dcos-cfn-genconf\.json could not be read \(access denied\): the endpoint is plain http, and the bundle bucket's policy refuses every request without TLS \(aws:SecureTransport\), as it should\. Against a local emulator, pass --skip-bundle-check\.$/,
    );
  });

  it('uploads only the changed nested template when one definition value changes', async () => {
    lines.length = 0;
    const measured = await run(await synth(defineCluster({ name: 'dcos', privateAgents: { count: 6 } })));
    assert.equal(measured.result.kind, 'deployed', `${lines.join('\n')}\n${JSON.stringify(measured.result)}`);
    assert.equal(measured.calls['PutObject'], 1, JSON.stringify(measured.calls));
    assert.ok(lines.some((l) => /1 uploaded, 3 already there/.test(l)), lines.join('\n'));
    // read through the Agents stack's nested change set (launcher, gap 26): its auto scaling group is what changes
    assert.match(lines.join('\n'), /^dcos-e2e\n {2}~ Agents \(nested stack\)\n {6}~ PrivateAgentGroup +AWS::AutoScaling::AutoScalingGroup\n {2}\(/m, lines.join('\n'));
  });

  /** What a deploy's change set changed in the root stack, as CloudFormation reports it: `Action LogicalId`. */
  async function rootChanges(changeSet: string): Promise<string[]> {
    const { cfn } = await connect({ endpointUrl: moto!.endpoint, region: 'us-east-1' });
    const described = await cfn.send(new DescribeChangeSetCommand({ ChangeSetName: changeSet, StackName: STACK }));
    return (described.Changes ?? []).map((c) => `${c.ResourceChange?.Action} ${c.ResourceChange?.LogicalResourceId}`).sort();
  }

  /** The master instance, read back: its ID, image and state. */
  async function master(): Promise<{ id: string; image: string; state: string }> {
    const { cfn } = await connect({ endpointUrl: moto!.endpoint, region: 'us-east-1' });
    const zone = await physicalId(cfn, STACK, 'MasterZone');
    const id = await physicalId(cfn, zone, 'Master1');
    const ec2 = new EC2Client({ endpoint: moto!.endpoint, region: 'us-east-1' });
    const instance = (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!;
    ec2.destroy();
    return { id, image: instance.ImageId!, state: instance.State!.Name! };
  }

  it("moves the bundle by changing the bundle URL's SSM parameter alone: no nested stack, so no master, is touched", async () => {
    lines.length = 0;
    const before = await master();
    const { result } = await run(await synth(MOVED));
    assert.equal(result.kind, 'deployed', lines.join('\n'));
    assert.deepEqual(await rootChanges(result.kind === 'deployed' ? result.changeSet : ''), ['Modify BundleUrl']);
    const read = await motoCall(moto!.endpoint, 'AmazonSSM.GetParameter', { Name: `/dcos-cfn/${STACK}/bundle-url` });
    assert.equal(read['Parameter'].Value, 'https://dcos-dcos-bundle-us-east-1.s3.us-east-1.amazonaws.com/dcos-2.2.1');
    assert.deepEqual(await master(), before);
  });

  it("rolls a new agent image to the agents' stack alone: the masters keep their own image", async () => {
    lines.length = 0;
    const before = await master();
    const { result } = await run(await synth(MOVED), { ...PARAMETERS, NodeImageId: 'ami-87654321' });
    assert.equal(result.kind, 'deployed', lines.join('\n'));
    assert.deepEqual(await rootChanges(result.kind === 'deployed' ? result.changeSet : ''), ['Modify Agents']);
    // inside Agents (its nested change set, launcher gap 26): the two launch templates that take the image parameter
    const preview = lines.join('\n');
    assert.match(preview, /^dcos-e2e\n {2}~ Agents \(nested stack\)\n {6}~ PrivateAgentLaunchTemplate +AWS::EC2::LaunchTemplate .*\n {6}~ PublicAgentLaunchTemplate +AWS::EC2::LaunchTemplate .*\n {2}\(/m, preview);
    assert.match(preview, /^ {2}\* dcos-e2e\/Agents\/PrivateAgentLaunchTemplate: public IP \/ instance profile \(~\)$/m, preview);
    const { cfn } = await connect({ endpointUrl: moto!.endpoint, region: 'us-east-1' });
    const parameters = Object.fromEntries(((await cfn.send(new DescribeStacksCommand({ StackName: STACK }))).Stacks![0]!.Parameters ?? []).map((p) => [p.ParameterKey, p.ParameterValue]));
    assert.equal(parameters['NodeImageId'], 'ami-87654321');
    assert.equal(parameters['MasterImageId'], 'ami-12345678', 'the masters kept the image the stack was created with');
    assert.deepEqual(await master(), before);
  });

  it('destroys the cluster with --force and lists what was retained', async () => {
    lines.length = 0;
    const clients = await connect({ endpointUrl: moto!.endpoint, region: 'us-east-1' });
    const result = await destroy({ clients, stackName: STACK, force: true, confirm: async () => true, print: (l) => lines.push(l), eventPollMs: 20 });
    assert.equal(result.kind, 'destroyed', lines.join('\n'));
    // Termination protection is turned off for exactly the masters, the VPN gateway and the dcos-cli instance.
    const unprotected = lines.filter((l) => l.startsWith('Instance termination protection (DisableApiTermination) turned off on ')).map((l) => /on (\S+) \(i-[0-9a-f]+\)/.exec(l)?.[1]).sort();
    assert.deepEqual(unprotected, [`${STACK}/MasterZone/AdminInstance`, `${STACK}/MasterZone/Master1`, `${STACK}/Vpn/VpnGateway`], lines.join('\n'));
    assert.ok(lines.some((l) => /^3 instance\(s\) have termination protection \(.*\); it is turned off for exactly these before deleting\.$/.test(l)), lines.join('\n'));
    const retained = result.kind === 'destroyed' ? result.retained.map((r) => `${r.stack.split('/').pop()}/${r.logicalId}`) : [];
    for (const id of ['Network/Vpc', 'Network/ClusterKey', 'Network/FlowLogGroup', 'MasterZone/Master1State', 'Vpn/ProfileBucket']) {
      assert.ok(retained.includes(id), `${id} retained: ${retained.join(', ')}`);
    }
    // What is left is exactly what was retained (DeletionPolicy RetainExceptOnCreate keeps it after a create).
    const left = await leftovers(moto!.endpoint);
    const physical = (type: string) => (result.kind === 'destroyed' ? result.retained.filter((r) => r.resourceType === type).map((r) => r.physicalId).sort() : []);
    assert.deepEqual(left.volumes, physical('AWS::EC2::Volume'));
    assert.deepEqual(left.vpcs, physical('AWS::EC2::VPC'));
    assert.deepEqual(left.subnets, physical('AWS::EC2::Subnet'));
    assert.deepEqual(left.instances, [], 'no instance runs');
    assert.deepEqual(left.interfaces, []);
    await s3(moto!.endpoint, (client) => client.send(new HeadBucketCommand({ Bucket: physical('AWS::S3::Bucket')[0] })));
  });
});

/** A cluster's resources that exist, read back with the SDK (the default VPC and its subnets left out). */
async function leftovers(endpoint: string) {
  const ec2 = new EC2Client({ endpoint, region: 'us-east-1' });
  try {
    const vpcs = ((await ec2.send(new DescribeVpcsCommand({}))).Vpcs ?? []).filter((v) => !v.IsDefault).map((v) => v.VpcId!).sort();
    const subnets = ((await ec2.send(new DescribeSubnetsCommand({}))).Subnets ?? []).filter((s) => !s.DefaultForAz).map((s) => s.SubnetId!).sort();
    const volumes = ((await ec2.send(new DescribeVolumesCommand({}))).Volumes ?? []).map((v) => v.VolumeId!).sort();
    const instances = ((await ec2.send(new DescribeInstancesCommand({}))).Reservations ?? []).flatMap((r) => r.Instances ?? []).filter((i) => i.State?.Name !== 'terminated').map((i) => i.InstanceId!);
    const interfaces = ((await ec2.send(new DescribeNetworkInterfacesCommand({}))).NetworkInterfaces ?? []).map((n) => n.NetworkInterfaceId!);
    const buckets = await s3(endpoint, async (client) => ((await client.send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name!).sort());
    return { vpcs, subnets, volumes, instances, interfaces, buckets };
  } finally {
    ec2.destroy();
  }
}

async function s3<T>(endpoint: string, use: (client: S3Client) => Promise<T>): Promise<T> {
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true });
  try {
    return await use(client);
  } finally {
    client.destroy();
  }
}

async function physicalId(cfn: CloudFormationClient, stack: string, logicalId: string): Promise<string> {
  const found = ((await cfn.send(new ListStackResourcesCommand({ StackName: stack }))).StackResourceSummaries ?? []).find((r) => r.LogicalResourceId === logicalId);
  assert.ok(found?.PhysicalResourceId, `${stack} has ${logicalId}`);
  return found.PhysicalResourceId;
}

describe('a first create that fails, on moto_server: nothing is kept', function () {
  let moto: Moto | undefined;
  let dir: string | undefined;

  before(async function () {
    if (!motoAvailable()) {
      console.log('    NOTICE: moto is not installed; skipping the emulator tests');
      this.skip();
    }
    motoEnv();
    // The last resource of the last stack fails, as AWS fails one it cannot make: everything else exists by then.
    moto = await startMoto({ DCOS_CFN_MOTO_FAIL_CREATE: 'VpnGateway' });
  });
  after(async () => {
    await stopMoto(moto);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('rolls back and deletes every resource it made, the retained kinds (VPC, subnets, key, log group, volumes, bucket) included', async () => {
    dir = mkdtempSync(join(tmpdir(), 'dcos-failed-create-'));
    const out = join(dir, 'out');
    await writeOutput(compile(defaultCluster), out);
    await uploadStandInBundle(out, defaultCluster, moto!.endpoint);
    const before = await leftovers(moto!.endpoint);
    const lines: string[] = [];
    const { result } = await measureDeploy({ endpointUrl: moto!.endpoint, region: 'us-east-1' }, {
      templates: loadTemplates(out),
      stackName: STACK,
      parameters: PARAMETERS,
      endpointUrl: moto!.endpoint,
      confirm: async () => true,
      print: (line) => lines.push(line),
      pollMs: 20,
      eventPollMs: 20,
    });
    assert.equal(result.kind, 'failed', lines.join('\n'));
    assert.equal(result.kind === 'failed' ? result.status : '', 'ROLLBACK_COMPLETE', `${lines.join('\n')}\n${JSON.stringify(result)}`);
    assert.match(result.kind === 'failed' ? result.hint : '', /first create failed and was rolled back.*--replace-failed/);
    assert.ok(lines.some((l) => /CREATE_FAILED\s+Vpn\s.*The following resource\(s\) failed to create: \[VpnGateway\]/.test(l)), lines.join('\n'));
    // The root cause is the nested stack's own event, read by its ARN after the rollback deleted it, not the echo.
    const causes = result.kind === 'failed' ? result.rootCauses : [];
    assert.ok(causes.some((c) => c.logicalId === 'VpnGateway' && /CREATE_FAILED/.test(c.status) && /could not be created/.test(c.reason)), `${JSON.stringify(causes)}\n${lines.join('\n')}`);
    assert.ok(!causes.some((c) => /Embedded stack/.test(c.reason)), JSON.stringify(causes));

    const after = await leftovers(moto!.endpoint);
    const templateBucket = after.buckets.filter((b) => b.startsWith('dcos-cfn-templates-'));
    assert.equal(templateBucket.length, 1, "deploy's own template bucket, made before the stack");
    assert.deepEqual({ ...after, buckets: after.buckets.filter((b) => !templateBucket.includes(b)) }, before, 'nothing of the cluster is left: no VPC, subnet, volume, instance, interface or bucket');
    const logs = await motoCall(moto!.endpoint, 'Logs_20140328.DescribeLogGroups', {});
    assert.deepEqual(logs['logGroups'], []);
    // AWS's own keys (alias/aws/ebs, made for the encrypted volumes) are not the stack's.
    const aliases = (await motoCall(moto!.endpoint, 'TrentService.ListAliases', {}))['Aliases'] as { AliasName: string; TargetKeyId?: string }[];
    const awsManaged = new Set(aliases.filter((a) => a.AliasName.startsWith('alias/aws/')).map((a) => a.TargetKeyId));
    for (const { KeyId } of (await motoCall(moto!.endpoint, 'TrentService.ListKeys', {}))['Keys'] as { KeyId: string }[]) {
      if (awsManaged.has(KeyId)) continue;
      const { KeyMetadata } = await motoCall(moto!.endpoint, 'TrentService.DescribeKey', { KeyId });
      assert.equal(KeyMetadata.KeyState, 'PendingDeletion', `the cluster key ${KeyId} (${KeyMetadata.Description})`);
    }
    await assert.rejects(motoCall(moto!.endpoint, 'AmazonSSM.GetParameter', { Name: `/dcos-cfn/${STACK}/bundle-url` }), /ParameterNotFound/);
    const { cfn } = await connect({ endpointUrl: moto!.endpoint, region: 'us-east-1' });
    assert.equal((await cfn.send(new DescribeStacksCommand({ StackName: STACK }))).Stacks![0]!.StackStatus, 'ROLLBACK_COMPLETE');
  });
});
