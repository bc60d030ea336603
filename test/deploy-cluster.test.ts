/**
 * The real synthesized cluster (not a fixture) deployed to a local moto_server over HTTP: create, unchanged
 * redeploy, a change to one definition value that touches one nested stack, destroy.
 */
import { ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../lib/deploy/aws.js';
import type { DeployProps } from '../lib/deploy/deploy.js';
import { destroy } from '../lib/deploy/destroy.js';
import { measureDeploy } from './helpers/measure.js';
import { loadTemplates } from '../lib/deploy/templates.js';
import { compile, writeOutput } from '../lib/synth.js';
import { defineCluster } from '../stacks/config.js';
import defaultCluster from '../stacks/clusters/default.js';
import { motoAvailable, motoEnv, startMoto, stopMoto, type Moto } from './moto.js';

const STACK = 'dcos-e2e';
const PARAMETERS = { KeyName: 'ops', NodeImageId: 'ami-12345678', GatewayImageId: 'ami-0abcdef1234567890', DcosInstallerUrl: 'https://dcos.example.com/2.2' };

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
  });
  after(async () => {
    await stopMoto(moto);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** Synthesizes a definition (with its audit, as `npm run synth` does) into a fresh folder. */
  async function synth(config = defaultCluster): Promise<string> {
    const dir = mkdtempSync(join(tmpdir(), 'dcos-e2e-'));
    dirs.push(dir);
    const { auditTemplateSet } = await import('../lib/audit/audit.js');
    await writeOutput(compile(config), dir, async (staging) => {
      assert.deepEqual((await auditTemplateSet(staging)).findings, []);
    });
    return dir;
  }

  const run = (dir: string) =>
    measureDeploy({ endpointUrl: moto!.endpoint, region: 'us-east-1' }, {
      templates: loadTemplates(dir),
      stackName: STACK,
      parameters: PARAMETERS,
      endpointUrl: moto!.endpoint,
      confirm: async () => true,
      print: (line) => lines.push(line),
      pollMs: 20,
      eventPollMs: 20,
    } satisfies Omit<DeployProps, 'clients'>);

  it('creates the four nested stacks and ends with the classic outputs', async () => {
    const { result } = await run(await synth());
    assert.equal(result.kind, 'deployed', lines.join('\n'));
    const outputs = Object.fromEntries((result.kind === 'deployed' ? result.outputs : []).map((o) => [o.OutputKey, o.OutputValue]));
    assert.match(outputs['DcosCli'] ?? '', /^ssh ubuntu@\d+\.\d+\.\d+\.\d+$/); // moto picks any address
    assert.match(outputs['InternalMaster'] ?? '', /^http:\/\/.+elb\.amazonaws\.com$/);
    assert.match(outputs['PublicSlave'] ?? '', /elb\.amazonaws\.com$/);
    assert.match(outputs['Vpn'] ?? '', /^\d+\.\d+\.\d+\.\d+:1194\/udp$/);
    assert.match(outputs['VpnClientProfile'] ?? '', /^aws s3 cp s3:\/\/\S+\/clients\/admin\.ovpn dcos-admin\.ovpn --region us-east-1$/);
    assert.equal(outputs['MasterAddresses'], '10.0.8.10');
    const clients = await connect({ endpointUrl: moto!.endpoint, region: 'us-east-1' });
    const nested = (await clients.cfn.send(new ListStackResourcesCommand({ StackName: STACK }))).StackResourceSummaries!;
    assert.deepEqual(nested.map((r) => r.LogicalResourceId).sort(), ['Agents', 'MasterZone', 'Network', 'Vpn']);
  });

  it('redeploys unchanged output with reads only: the stack, its template and each stack policy', async () => {
    const measured = await run(await synth());
    assert.equal(measured.result.kind, 'no-op');
    assert.equal(measured.writeCalls, 0);
    assert.deepEqual(measured.calls, { DescribeStacks: 1, GetTemplate: 1, ListStackResources: 1, GetStackPolicy: 5 });
  });

  it('uploads only the changed nested template when one definition value changes', async () => {
    lines.length = 0;
    const measured = await run(await synth(defineCluster({ name: 'dcos', privateAgents: { count: 6 } })));
    assert.equal(measured.result.kind, 'deployed', `${lines.join('\n')}\n${JSON.stringify(measured.result)}`);
    assert.equal(measured.calls['PutObject'], 1, JSON.stringify(measured.calls));
    assert.ok(lines.some((l) => /1 uploaded, 3 already there/.test(l)), lines.join('\n'));
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
  });
});
