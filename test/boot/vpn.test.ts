/**
 * The VPN login, for real. The gateway's user data runs exactly as synthesized (easy-rsa, OpenVPN, iptables, the
 * AWS CLI uploading to S3 in moto); then a real OpenVPN client on the internet side fetches the profile with the
 * `VpnClientProfile` command, connects with it unchanged, gets the VPC route and nothing wider, the masters as DNS
 * servers and the search domain `mesos`, resolves `leader.mesos` through the tunnel (the stand-in Mesos-DNS on a
 * master) and gets HTTP 200 from Admin Router. The README's steps for adding and revoking a client run as written.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { HeadObjectCommand, CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { DEFINITIONS } from '../helpers/template.js';
import { stopMoto, type Moto } from '../moto.js';
import { BootCluster, motoCall } from './cluster.js';
import { ADDRESSES, type Instance } from './sandbox.js';
import { bootTest, BOOT_TIMEOUT_MS, holdAptLock } from './support.js';
import { resolveUserData, type Json } from './user-data.js';

const README = readFileSync('README.md', 'utf8');

/** The README's ```sh block that contains `marker`, as lines to run. */
function readmeBlock(marker: string): string {
  const block = [...README.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes(marker));
  if (!block) throw new Error(`README.md has no sh block with ${marker}`);
  return block;
}

/** Stand-in for update-systemd-resolved: applies the pushed DNS options, and records what the server pushed. */
const APPLY_PUSHED_DNS = `#!/bin/bash
env | grep -E '^(foreign_option_|route_|ifconfig_)' | sort > /run/dcos-cfn-test/openvpn-pushed.env
for option in $(env | sed -n 's/^foreign_option_[0-9]*=dhcp-option //p' | tr ' ' '='); do
  case $option in DNS=*) echo "nameserver \${option#DNS=}" ;; DOMAIN=*) echo "search \${option#DOMAIN=}" ;; esac
done > /etc/resolv.conf
`;

/** Starts the client's OpenVPN (README step 2, with step 3's DNS script) and waits for the tunnel (bounded). */
async function connect(client: Instance, profile: string): Promise<void> {
  await client.sh(`openvpn --config ${profile} --script-security 2 --up /usr/local/sbin/apply-pushed-dns --daemon --log /var/log/openvpn.log --writepid /run/openvpn.pid`);
  await client.sh('for i in $(seq 150); do grep -q "Initialization Sequence Completed" /var/log/openvpn.log && exit 0; sleep 0.2; done; cat /var/log/openvpn.log; exit 1');
}

async function disconnect(client: Instance): Promise<void> {
  // Until the process is gone: OpenVPN removes its PID file as it exits, which must not race the next connect.
  await client.sh('pid=$(cat /run/openvpn.pid); kill "$pid"; for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done; exit 1');
}

for (const [name, config] of Object.entries(DEFINITIONS)) {
  describe(`boot: the '${name}' cluster's VPN gateway and an admin logging in`, function () {
    this.timeout(BOOT_TIMEOUT_MS * 2);
    let moto: Moto | undefined;
    let cluster: BootCluster;
    let gateway: Instance;
    let admin: Instance;
    let keyArn: string;
    const bucket = `dcos-boot-profiles-${name}`;

    before(async function () {
      if (!bootTest.canRun(this)) return;
      moto = await bootTest.startMoto(this);
      keyArn = (await motoCall(moto.endpoint, 'TrentService.CreateKey', { Description: 'dcos-cfn boot test cluster key' }))['KeyMetadata'].Arn;
      await new S3Client({ endpoint: moto.endpoint, forcePathStyle: true }).send(new CreateBucketCommand({ Bucket: bucket }));
      cluster = await BootCluster.start(config, moto.endpoint);
      cluster.parameters['KeyArn'] = keyArn;
      cluster.resources['ProfileBucket'] = bucket;
      const masters = await Promise.all(cluster.masters.map((_, i) => cluster.bootMaster(i)));
      // unattended-upgrades holds apt's lock for the first seconds of the boot: the gateway waits for it.
      gateway = await cluster.bootGateway({ preBoot: holdAptLock(3) });
      await Promise.all([...masters, gateway].map((m) => m.booted(BOOT_TIMEOUT_MS)));
    });
    after(async () => {
      await cluster?.destroy();
      await stopMoto(moto);
    });

    it('the gateway waits for apt\'s lock, makes its PKI with easy-rsa, starts OpenVPN, uploads the admin profile encrypted with the cluster key and signals SUCCESS', async () => {
      assert.match(gateway.log(), /Waiting for cache lock: Could not get lock \/var\/lib\/dpkg\/lock-frontend/, 'apt waited for the lock');
      assert.deepEqual(
        gateway.signals().map((s) => [s.status, s.resource, s.reason]),
        [['SUCCESS', 'VpnGateway', `VpnGateway: OpenVPN is up on ${config.vpn.protocol} ${config.vpn.port}`]],
        gateway.log(),
      );
      const head = await new S3Client({ endpoint: moto!.endpoint, forcePathStyle: true }).send(new HeadObjectCommand({ Bucket: bucket, Key: 'clients/admin.ovpn' }));
      assert.equal(head.ServerSideEncryption, 'aws:kms');
      assert.equal(head.SSEKMSKeyId, keyArn);
      assert.ok(gateway.imds!.requests.some((r) => r.startsWith('GET /latest/meta-data/iam/security-credentials/VpnRole 200')), 'the CLI used the instance role');
      assert.equal(await gateway.sh('ls /root'), '', 'no copy of the profile stays on the gateway');
      assert.equal((await gateway.sh('stat -c %a /etc/openvpn/server/crl.pem')).trim(), '644');
    });

    it("an admin fetches the profile with the VpnClientProfile command, connects with it unchanged, and reaches http://leader.mesos through the tunnel", async () => {
      const output = cluster.templates['Vpn']!.Outputs.VpnClientProfile.Value['Fn::Sub'] as string;
      assert.ok(README.includes(output.replace('${ProfileBucket}', '<profile bucket>').replace('${AWS::Region}', '<region>')), 'README step 1 shows the output');
      const fetchProfile = resolveUserData({ stack: 'Vpn', id: 'VpnClientProfile', text: output, variables: {}, template: cluster.templates['Vpn'] as Json }, cluster.values('Vpn'));
      admin = await cluster.bootClient('Admin', 10, {
        '/root/.aws/config': `[default]\nendpoint_url = http://${ADDRESSES.s3}\n`,
        '/root/.aws/credentials': '[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n',
        '/usr/local/sbin/apply-pushed-dns': APPLY_PUSHED_DNS,
      });
      await admin.booted(BOOT_TIMEOUT_MS);
      const unreachable = await admin.exec(`curl -sS --max-time 2 http://${cluster.masters[0]}/`);
      assert.notEqual(unreachable.status, 0, 'masters are unreachable from the internet without the VPN');

      await admin.sh(fetchProfile);
      await connect(admin, 'dcos-admin.ovpn');

      const routes = (await admin.sh('ip -4 route show')).trim().split('\n');
      const vpc = config.vpcCidr;
      assert.ok(routes.some((r) => r.startsWith(`${vpc} via `) && r.includes('dev tun0')), routes.join('\n'));
      assert.deepEqual(routes.filter((r) => r.includes('dev tun0') && !r.startsWith(vpc) && !r.startsWith(config.vpn.clientCidr)), [], 'nothing wider than the VPC');
      assert.ok(routes.includes(`default via ${ADDRESSES.internetGateway} dev eth0 `) || routes.includes(`default via ${ADDRESSES.internetGateway} dev eth0`), routes.join('\n'));
      const pushed = await admin.sh('cat /run/dcos-cfn-test/openvpn-pushed.env');
      const options = [...pushed.matchAll(/^foreign_option_\d+=(.*)$/gm)].map((m) => m[1]);
      assert.deepEqual(options, [...cluster.masters.map((ip) => `dhcp-option DNS ${ip}`), 'dhcp-option DOMAIN mesos']);

      assert.equal((await admin.sh('getent hosts leader.mesos')).split(/\s+/)[0], cluster.masters[0]);
      assert.equal(await admin.sh('curl -sS --max-time 5 -o /dev/null -w "%{http_code}" http://leader.mesos/'), '200');
      assert.match(await admin.sh(`ip route get ${cluster.masters[0]}`), /dev tun0/);
    });

    it("the README's steps add a client and revoke it: the revoked client is refused, the admin still gets in, the CRL lasts", async () => {
      assert.ok(admin, 'the admin connected');
      // Adding a client, on the gateway as root, exactly as the README shows.
      await gateway.sh(readmeBlock('build-client-full alice'));
      const profile = await gateway.sh('cat /var/lib/dcos-vpn/easy-rsa/alice.ovpn');
      const alice = await cluster.bootClient('Alice', 11, { '/root/alice.ovpn': profile, '/usr/local/sbin/apply-pushed-dns': APPLY_PUSHED_DNS });
      await alice.booted(BOOT_TIMEOUT_MS);
      await connect(alice, 'alice.ovpn');
      assert.equal(await alice.sh('curl -sS --max-time 5 -o /dev/null -w "%{http_code}" http://leader.mesos/'), '200');
      await disconnect(alice);

      // Revoking it, exactly as the README shows.
      await gateway.sh(readmeBlock('revoke alice'));
      await alice.sh('openvpn --config alice.ovpn --daemon --log /var/log/openvpn-revoked.log --writepid /run/openvpn.pid');
      const serverLog = '/var/log/fake-systemd-openvpn-server@dcos.service.log';
      const refused = await gateway.exec(`for i in $(seq 100); do grep -q "certificate revoked.*CN=alice" ${serverLog} && exit 0; sleep 0.2; done; exit 1`);
      assert.equal(refused.status, 0, await gateway.sh(`tail -n 20 ${serverLog}`));
      assert.doesNotMatch(await alice.sh('cat /var/log/openvpn-revoked.log'), /Initialization Sequence Completed/);
      await alice.stop();

      // The server re-reads the CRL as nobody for every connection: the admin must still get in.
      await disconnect(admin);
      await connect(admin, 'dcos-admin.ovpn');
      assert.equal(await admin.sh('curl -sS --max-time 5 -o /dev/null -w "%{http_code}" http://leader.mesos/'), '200');
      const nextUpdate = new Date((await gateway.sh('openssl crl -in /etc/openvpn/server/crl.pem -noout -nextupdate')).replace('nextUpdate=', '').trim());
      assert.ok(nextUpdate.getTime() > Date.now() + 9 * 365 * 86400_000, `the CRL made by hand expires ${nextUpdate.toISOString()}`);
    });

    it('a rebuilt gateway keeps the CA and the revocations on its state volume: the admin profile it had still connects', async () => {
      assert.ok(admin, 'the admin connected');
      const ca = await gateway.sh('cat /etc/openvpn/server/ca.crt');
      await disconnect(admin);
      await gateway.stop();
      const rebuilt = await cluster.bootGateway({ name: 'VpnGatewayRebuilt' });
      const { exitCode, log } = await rebuilt.booted(BOOT_TIMEOUT_MS);
      assert.equal(exitCode, 0, log);
      assert.deepEqual(rebuilt.signals().map((s) => s.status), ['SUCCESS']);
      assert.doesNotMatch(log, /is blank: formatting it|init-pki/);
      assert.equal(await rebuilt.sh('cat /etc/openvpn/server/ca.crt'), ca);
      assert.match(await rebuilt.sh('openssl crl -in /etc/openvpn/server/crl.pem -noout -text'), /Revoked Certificates:\s+Serial Number/);
      await connect(admin, 'dcos-admin.ovpn');
      assert.equal(await admin.sh('curl -sS --max-time 5 -o /dev/null -w "%{http_code}" http://leader.mesos/'), '200');
    });
  });
}
