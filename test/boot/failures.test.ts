/**
 * Boots that must fail: each signals FAILURE once, with a reason naming the cause, within its program's own
 * bound, and never hangs. Where the bound is minutes (a volume that never appears, Mesos that never answers, apt's
 * lock held), the program runs under libfaketime, 200 times faster than real time, so the real timeout is reached;
 * nothing in the program changes. The programs are the same for every definition: the default one runs them.
 */
import assert from 'node:assert/strict';
import defaultCluster from '../../stacks/clusters/default.js';
import { stopMoto, type Moto } from '../moto.js';
import { BootCluster, motoCall } from './cluster.js';
import type { Instance } from './sandbox.js';
import { bootTest, BOOT_TIMEOUT_MS, holdAptLock } from './support.js';

async function failure(instance: Instance): Promise<{ reason: string; log: string }> {
  const { exitCode, log } = await instance.booted(BOOT_TIMEOUT_MS);
  assert.notEqual(exitCode, 0, log);
  const signals = instance.signals();
  assert.deepEqual(signals.map((s) => s.status), ['FAILURE'], log);
  return { reason: signals[0]!.reason, log };
}

describe('boot: failures signal FAILURE with their cause, in bounded time', function () {
  this.timeout(BOOT_TIMEOUT_MS * 2);
  let cluster: BootCluster;
  let moto: Moto | undefined;

  before(async function () {
    if (!bootTest.canRun(this)) return;
    moto = await bootTest.startMoto(this);
    cluster = await BootCluster.start(defaultCluster, moto.endpoint);
    cluster.parameters['KeyArn'] = 'arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000';
    cluster.resources['ProfileBucket'] = 'dcos-boot-profiles-unreachable';
  });
  after(async () => {
    await cluster?.destroy();
    await stopMoto(moto);
  });
  afterEach(async () => {
    for (const instance of cluster?.world.instances ?? []) await instance.stop();
  });

  it('a bundle that is not uploaded fails at once, naming the URL and the status S3 answers (403: the nodes may not list the bucket)', async () => {
    const { reason } = await failure(await cluster.bootAgent('PrivateAgent', { bundle: 'missing' }));
    assert.equal(reason, `PrivateAgentGroup: could not fetch ${cluster.bundles.urls.missing}/dcos_install.sh: HTTP 403`);
  });

  it("a bundle whose master list differs fails before anything is installed, naming both lists", async () => {
    const master = await cluster.bootMaster(0, { bundle: 'other-masters' });
    const { reason } = await failure(master);
    assert.equal(reason, `Master1: the DC/OS bundle's master_list is ["10.0.99.10"], expected ["10.0.8.10"]: make the bundle from the genconf/ folder synth wrote`);
    assert.equal((await master.exec('test -e /opt/mesosphere || test -e /etc/mesosphere')).status, 1, 'nothing was installed');
  });

  it('a bundle generated for another bootstrap_url fails before anything is installed, naming both URLs', async () => {
    const agent = await cluster.bootAgent('PublicAgent', { bundle: 'other-url' });
    const { reason } = await failure(agent);
    const { urls } = cluster.bundles;
    assert.equal(reason, `PublicAgentGroup: the DC/OS bundle at ${urls['other-url']} was generated for bootstrap_url '${urls.good}': make it from the genconf/ folder synth wrote (bootstrap_url ${urls['other-url']}) and upload it with npm run bundle`);
    assert.equal((await agent.exec('test -e /opt/mesosphere || test -e /etc/mesosphere')).status, 1, 'nothing was installed');
  });

  it("a bundle URL parameter that does not exist fails at once, with AWS's answer", async () => {
    const agent = await cluster.bootAgent('PrivateAgent', { parameter: '/dcos-boot/no-such-parameter' });
    const { reason } = await failure(agent);
    assert.match(reason, /^PrivateAgentGroup: could not read SSM parameter \/dcos-boot\/no-such-parameter: .*ParameterNotFound/);
  });

  it('a bundle URL over plain http is refused before anything is fetched: what is fetched runs as root', async () => {
    const parameter = `/dcos-boot/${cluster.world.id}/plain-http/bundle-url`;
    const url = cluster.bundles.urls.good.replace(/^https:/, 'http:');
    await motoCall(moto!.endpoint, 'AmazonSSM.PutParameter', { Name: parameter, Value: url, Type: 'String', Overwrite: true });
    const requests = cluster.world.bundle!.requests.length;
    const { reason } = await failure(await cluster.bootAgent('PrivateAgent', { parameter }));
    assert.equal(reason, `PrivateAgentGroup: refusing to fetch ${url}/dcos_install.sh: only https:// URLs are downloaded (plain http could be swapped in transit)`);
    assert.equal(cluster.world.bundle!.requests.length, requests, 'the bundle server was never asked');
  });

  it('Mesos that never answers its health check fails after the 20-minute bound, naming the endpoint', async () => {
    const { reason } = await failure(await cluster.bootAgent('PublicAgent', { bundle: 'mesos-never-up', timeLapse: 200 }));
    assert.equal(reason, `PublicAgentGroup: timed out after 1200 s waiting for DC/OS slave_public health on ${cluster.config.subnets.publicAgents[0]!.replace(/0\/\d+$/, '10')}:5051`);
  });

  it('a master whose state volume never appears fails naming the volume, and installs nothing on the root disk', async () => {
    const requests = cluster.world.bundle!.requests.length;
    const master = await cluster.bootMaster(0, { withoutVolume: true, timeLapse: 200 });
    const { reason } = await failure(master);
    assert.equal(reason, `Master1: timed out after 600 s waiting for state volume ${cluster.volumes.get('Master1State')!.volumeId} to be attached`);
    assert.equal((await master.exec('test -e /var/lib/dcos || test -e /opt/mesosphere')).status, 1, 'nothing was written in its place');
    assert.equal(cluster.world.bundle!.requests.length, requests, 'the bundle was never fetched');
  });

  it("apt's lock held by another process throughout: waits apt's 10 minutes, then fails naming the holder", async () => {
    const { reason, log } = await failure(await cluster.bootGateway({ preBoot: holdAptLock(3600), timeLapse: 200 }));
    assert.match(log, /Waiting for cache lock/);
    assert.match(reason, /^VpnGateway: apt-get install failed: Could not get lock \/var\/lib\/dpkg\/lock-frontend\. It is held by process \d+ \(python3\)\.* \(waited 600 s\)$/);
  });
});
