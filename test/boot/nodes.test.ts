/**
 * Boot for real: masters, agents and the dcos-cli instance run their user data exactly as synthesized, as root in
 * the sandbox (test/boot/sandbox.ts), against the stand-in DC/OS bundle; the test reads back what they did.
 */
import assert from 'node:assert/strict';
import { DEFINITIONS } from '../helpers/template.js';
import { genconfFiles } from '../../stacks/genconf.js';
import { stopMoto, type Moto } from '../moto.js';
import { BootCluster } from './cluster.js';
import { bootTest, BOOT_TIMEOUT_MS } from './support.js';
import type { Instance } from './sandbox.js';

for (const [name, config] of Object.entries(DEFINITIONS)) {
  describe(`boot: the '${name}' cluster's masters, agents and dcos-cli instance`, function () {
    this.timeout(BOOT_TIMEOUT_MS * 2);
    let cluster: BootCluster;
    let moto: Moto | undefined;
    const masters: Instance[] = [];

    before(async function () {
      if (!bootTest.canRun(this)) return;
      moto = await bootTest.startMoto(this);
      cluster = await BootCluster.start(config, moto.endpoint);
      masters.push(...(await Promise.all(cluster.masters.map((_, i) => cluster.bootMaster(i)))));
      await Promise.all(masters.map((m) => m.booted(BOOT_TIMEOUT_MS)));
    });
    after(async () => {
      await cluster?.destroy();
      await stopMoto(moto);
    });

    it('every master mounts its state volume, found by its volume ID, at /var/lib/dcos before installing, and signals SUCCESS', async () => {
      for (const [i, master] of masters.entries()) {
        assert.deepEqual(
          master.signals().map((s) => [s.status, s.resource, s.reason, s.uniqueId]),
          [['SUCCESS', `Master${i + 1}`, `Master${i + 1}: DC/OS master is up`, master.instanceId]],
          master.log(),
        );
        assert.match(master.signals()[0]!.stack, /^dcos-boot-MasterZone-/);
        const volume = cluster.volumes.get(`Master${i + 1}State`)!;
        const installed = JSON.parse(await master.sh('cat /opt/mesosphere/standin-install.json'));
        assert.deepEqual(installed.roles, ['master']);
        assert.deepEqual(installed.masterList, cluster.masters);
        assert.equal(installed.nodeIp, cluster.masters[i]);
        assert.equal(installed.varLibDcos.replace(/\s+/g, ' '), `${volume.loop} xfs`, 'the state volume was mounted when DC/OS installed');
        assert.match(await master.sh('cat /etc/fstab'), /^UUID=\S+ \/var\/lib\/dcos xfs defaults,nofail,x-systemd.required-by=dcos-exhibitor.service,/m);
      }
    });

    it('read the bundle URL from its SSM parameter with the instance role, and installed from there', async () => {
      for (const master of masters) {
        assert.ok(master.imds!.requests.some((r) => r.startsWith('GET /latest/meta-data/iam/security-credentials/MasterRole 200')), 'the AWS CLI used the instance role');
        assert.equal((await master.sh('cat /etc/mesosphere/setup-flags/repository-url')).trim(), cluster.bundles.urls.good);
      }
      assert.ok(cluster.world.bundle!.requests.includes(`${new URL(cluster.bundles.urls.good).pathname}/dcos_install.sh 200`));
    });

    if (config.availabilityZones > 1) {
      it("genconf's fault-domain-detect prints the node's Region and zone, read with IMDSv2", async () => {
        const script = genconfFiles(config).find((f) => f.name === 'fault-domain-detect')!.content;
        const printed = await masters[0]!.sh(`cat > /tmp/fault-domain-detect <<'SCRIPT'\n${script}SCRIPT\nsh /tmp/fault-domain-detect`);
        assert.deepEqual(JSON.parse(printed), { fault_domain: { region: { name: 'aws/us-east-1' }, zone: { name: 'aws/us-east-1a' } } });
        assert.ok(masters[0]!.imds!.requests.some((r) => r === 'GET /latest/meta-data/placement/availability-zone 200'));
      });
    }

    it('a master booted again on its volume formats nothing and keeps the data', async () => {
      const first = masters[0]!;
      const before = await first.sh('cat /var/lib/dcos/standin-state');
      const uuid = await first.sh(`blkid -s UUID -o value ${cluster.volumes.get('Master1State')!.loop}`);
      await first.stop();
      const again = await cluster.bootMaster(0, { name: 'Master1again' });
      const { exitCode, log } = await again.booted(BOOT_TIMEOUT_MS);
      assert.equal(exitCode, 0, log);
      assert.deepEqual(again.signals().map((s) => s.status), ['SUCCESS']);
      assert.doesNotMatch(log, /is blank: formatting it/);
      assert.equal(await again.sh(`blkid -s UUID -o value ${cluster.volumes.get('Master1State')!.loop}`), uuid);
      const after = await again.sh('cat /var/lib/dcos/standin-state');
      assert.ok(after.startsWith(before), 'the first install is still recorded');
      assert.equal(after.split('\n').filter(Boolean).length, 2, after);
    });

    for (const kind of ['PrivateAgent', 'PublicAgent'] as const) {
      it(`a ${kind === 'PrivateAgent' ? 'private' : 'public'} agent installs its role and signals SUCCESS to its auto scaling group`, async () => {
        const agent = await cluster.bootAgent(kind);
        const { exitCode, log } = await agent.booted(BOOT_TIMEOUT_MS);
        assert.equal(exitCode, 0, log);
        assert.deepEqual(agent.signals().map((s) => [s.status, s.resource]), [['SUCCESS', `${kind}Group`]]);
        assert.match(agent.signals()[0]!.stack, /^dcos-boot-Agents-/);
        const installed = JSON.parse(await agent.sh('cat /opt/mesosphere/standin-install.json'));
        assert.deepEqual(installed.roles, [kind === 'PrivateAgent' ? 'slave' : 'slave_public']);
        assert.equal(await agent.sh('curl -fsS -o /dev/null -w "%{http_code}" http://$(/opt/mesosphere/bin/detect_ip):5051/health'), '200');
        await agent.stop();
      });
    }

    it('the dcos-cli instance resolves *.mesos through the masters and signals SUCCESS', async () => {
      const admin = await cluster.bootAdmin(bootTest.resolvedStandIn());
      const { exitCode, log } = await admin.booted(BOOT_TIMEOUT_MS);
      assert.equal(exitCode, 0, log);
      assert.deepEqual(admin.signals().map((s) => [s.status, s.resource]), [['SUCCESS', 'AdminInstance']]);
      assert.equal((await admin.sh('getent hosts leader.mesos')).split(/\s+/)[0], cluster.masters[0]);
      assert.equal(await admin.sh('curl -sS -o /dev/null -w "%{http_code}" http://leader.mesos/'), '200');
    });
  });
}
