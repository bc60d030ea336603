/**
 * The boot sandbox: a small AWS region on this machine, made of Linux namespaces, in which the user-data
 * programs run as root exactly as synthesized.
 *
 * A `World` is one VPC: a router network namespace with a bridge holding every subnet's gateway address (.1), the
 * Amazon DNS resolver (169.254.169.253, dnsmasq answering the names the programs use), S3 (moto, relayed from
 * loopback), the DC/OS bundle server (HTTPS, relayed from a Unix socket) and an internet side with an internet
 * gateway that maps the VPN gateway's Elastic IP and does not route to private addresses. An `Instance` is one EC2
 * instance: its own network namespace on a subnet, its metadata service at 169.254.169.254, its EBS volumes as
 * loop devices, and the machine `sandbox-init.sh` builds. Only the AWS boundary is faked: the metadata service,
 * `cfn-signal`, S3 and the bundle; bash, apt, easy-rsa, OpenVPN, iptables, mkfs and mount are real, and a small
 * `systemctl` starts the real daemons.
 *
 * Addresses outside the VPC are documentation ranges (RFC 5737), in namespaces this harness made; nothing is
 * sent from or to the host's own network. Every wait is bounded. `destroy` removes every namespace, loop device,
 * process and folder this harness made, also when a test failed, and a process exit handler does the same if
 * the test run dies first.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync, chmodSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCidr, formatIp } from '../../stacks/cidr.js';
import { startImds, type Imds, type InstanceIdentity } from './imds.js';
import { startBundleServer, type BundleServer } from './bundle.js';

const HERE = fileURLToPath(new URL('../../../test/boot/', import.meta.url));
const INIT = join(HERE, 'sandbox-init.sh');
const FAKES = join(HERE, 'fakes');
const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';
const PLAIN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Service addresses of the sandbox's AWS and internet (RFC 5737 documentation ranges, and AWS's link-local DNS). */
export const ADDRESSES = {
  s3: '198.51.100.10',
  bundle: '198.51.100.20',
  vpcResolver: '169.254.169.253',
  internetGateway: '192.0.2.1',
  /** The VPN gateway's Elastic IP, mapped by the internet gateway to the gateway's private address. */
  elasticIp: '203.0.113.5',
} as const;

/** What the machine lacks for the boot tests; empty when they can run. */
export function bootPrerequisitesMissing(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root');
  if (!existsSync('/dev/net/tun')) missing.push('/dev/net/tun');
  const tools = ['ip', 'unshare', 'nsenter', 'losetup', 'socat', 'dnsmasq', 'openvpn', 'make-cadir', 'mkfs.xfs', 'iptables', 'netfilter-persistent', 'openssl', 'curl', 'xz', 'shellcheck'];
  for (const tool of tools) if (spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore', env: { PATH: PLAIN_PATH } }).status !== 0) missing.push(tool);
  if (!existsSync(LIBFAKETIME)) missing.push('faketime');
  if (!existsSync('/usr/bin/python3')) missing.push('/usr/bin/python3');
  return missing;
}

/** The AWS CLI on this machine (the images get it as /usr/local/bin/aws), or undefined. */
export function awsCli(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v aws || ls "$HOME/.pyenv/shims/aws"'], { encoding: 'utf8' });
  const path = which.stdout.trim().split('\n')[0];
  return which.status === 0 && path ? path : undefined;
}

function run(command: string, args: readonly string[], input?: string): string {
  const result = spawnSync(command, args, { encoding: 'utf8', input, timeout: 30_000 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal}): ${result.stderr}`);
  return result.stdout;
}

/** Every world still alive, torn down by the exit handler if the test run dies before `destroy`. */
const LIVE = new Set<World>();
process.on('exit', () => {
  for (const world of LIVE) world.destroySync();
});

export interface WorldProps {
  readonly vpcCidr: string;
  readonly subnets: readonly string[];
  /** The DC/OS bundle: the folder served, and the HTTPS name it is served at. */
  readonly bundle: { readonly host: string; readonly root: string };
  /** moto on loopback, relayed as the instances' S3 and other AWS endpoints. */
  readonly s3Endpoint?: string;
}

export interface Volume {
  readonly volumeId: string;
  readonly file: string;
  readonly loop: string;
  readonly major: number;
  readonly minor: number;
}

export interface BootOptions {
  /** Instance name (letters and digits), also its hostname. */
  readonly name: string;
  /** The resolved user-data program. */
  readonly program: string;
  /** `vpc`: in a subnet (address and CIDR below); `internet`: a host on the internet side (the VPN client). */
  readonly network: 'vpc' | 'internet';
  readonly privateIp: string;
  /** The subnet's CIDR (for `vpc`). */
  readonly subnet?: string;
  /** Attached EBS volumes. */
  readonly volumes?: readonly Volume[];
  /** The instance profile's role name. @default dcos-boot-role */
  readonly roleName?: string;
  /** Run the program under libfaketime, `n` times faster than real time: a test that waits out a timeout. */
  readonly timeLapse?: number;
  /** A bash snippet run inside the instance just before the program (say, another process holding apt's lock). */
  readonly preBoot?: string;
  /** Files laid over the machine, by absolute path. */
  readonly files?: Readonly<Record<string, string>>;
}

export interface Signal {
  readonly stack: string;
  readonly resource: string;
  readonly region: string;
  readonly status: 'SUCCESS' | 'FAILURE';
  readonly reason: string;
  readonly uniqueId: string;
}

export class Instance {
  constructor(
    readonly world: World,
    readonly name: string,
    readonly netns: string,
    readonly dir: string,
    readonly instanceId: string,
    readonly process: ChildProcess,
    readonly imds: Imds | undefined,
  ) {}

  /** The host PID of the instance's init (PID 1 inside), once it runs. */
  get initPid(): number {
    const pid = this.process.pid!;
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    if (!children) throw new Error(`${this.name}: its init is not running`);
    return Number(children.split(' ')[0]);
  }

  /** Waits (at most `ms`) for the user data to end; returns its exit code and output. */
  async booted(ms: number): Promise<{ exitCode: number; log: string }> {
    const deadline = Date.now() + ms;
    const file = join(this.dir, 'shared/exit-code');
    while (!existsSync(file)) {
      if (this.process.exitCode !== null) throw new Error(`${this.name}: the sandbox ended (${this.process.exitCode}): ${this.log()}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: the user data did not end within ${ms} ms:\n${this.log().slice(-3000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return { exitCode: Number(readFileSync(file, 'utf8')), log: this.log() };
  }

  /** The program's output. */
  log(): string {
    const file = join(this.dir, 'shared/user-data.log');
    const sandbox = join(this.dir, 'sandbox.log');
    return (existsSync(file) ? readFileSync(file, 'utf8') : '') + (existsSync(sandbox) ? readFileSync(sandbox, 'utf8') : '');
  }

  /** What the fake cfn-signal recorded, in order. */
  signals(): Signal[] {
    const file = join(this.dir, 'shared/signals.jsonl');
    if (!existsSync(file)) return [];
    return readFileSync(file, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Signal);
  }

  /**
   * Runs a bash script inside the instance, as root, with a plain PATH (at most `timeoutMs`). Asynchronous: the
   * fakes it may talk to (metadata service, bundle, S3 relay) answer from this process.
   */
  exec(script: string, timeoutMs = 30_000): Promise<{ status: number | null; stdout: string; stderr: string }> {
    const child = spawn(
      'nsenter',
      ['-t', String(this.initPid), '-m', '-u', '-n', '-p', '--', 'env', '-i', `PATH=${PLAIN_PATH}`, 'HOME=/root', 'LANG=C.UTF-8', 'bash', '-c', `cd /root && ${script}`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    return new Promise((resolve) =>
      child.on('close', (status) => {
        clearTimeout(timer);
        resolve({ status, stdout, stderr });
      }),
    );
  }

  /** Like `exec`, but throws with the output when the script fails. */
  async sh(script: string, timeoutMs = 30_000): Promise<string> {
    const result = await this.exec(script, timeoutMs);
    if (result.status !== 0) throw new Error(`${this.name}: '${script}' failed (${result.status}):\n${result.stdout}${result.stderr}`);
    return result.stdout;
  }

  /** Terminates the instance: every process in it ends, its mounts go with it, and its address is free again. */
  async stop(): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) {
      const exited = new Promise((resolve) => this.process.once('exit', resolve));
      this.process.kill('SIGKILL');
      await exited;
    }
    this.world.deleteNamespace(this.netns);
  }
}

export class World {
  readonly id = randomBytes(3).toString('hex');
  readonly dir = mkdtempSync(join(tmpdir(), 'dcos-boot-'));
  readonly router = `dcb${this.id}-vpc`;
  readonly namespaces: string[] = [];
  readonly processes: ChildProcess[] = [];
  readonly servers: Server[] = [];
  readonly volumes: Volume[] = [];
  readonly instances: Instance[] = [];
  private links = 0;
  bundle: BundleServer | undefined;
  caCert = '';

  private constructor(
    readonly vpcCidr: string,
    readonly subnets: readonly string[],
  ) {
    LIVE.add(this);
  }

  /**
   * Builds the VPC (every subnet in `subnets` gets its gateway .1 on the router), the resolver, the bundle server
   * (serving `bundle.root` as https://`bundle.host`/), and, with `s3Endpoint` (moto on loopback), S3 and the other
   * AWS APIs the instances' AWS CLI calls (SSM).
   */
  static async create(props: WorldProps): Promise<World> {
    const world = new World(props.vpcCidr, props.subnets);
    try {
      await world.build(props);
    } catch (err) {
      await world.destroy();
      throw err;
    }
    return world;
  }

  private async build(props: WorldProps): Promise<void> {
    const r = this.router;
    this.addNamespace(r);
    run('ip', ['-n', r, 'link', 'set', 'lo', 'up']);
    run('ip', ['-n', r, 'link', 'add', 'br0', 'type', 'bridge']);
    run('ip', ['-n', r, 'link', 'set', 'br0', 'up']);
    for (const subnet of this.subnets) run('ip', ['-n', r, 'addr', 'add', `${gatewayOf(subnet)}/${subnet.split('/')[1]}`, 'dev', 'br0']);
    for (const a of [ADDRESSES.s3, ADDRESSES.bundle, ADDRESSES.vpcResolver]) run('ip', ['-n', r, 'addr', 'add', `${a}/32`, 'dev', 'lo']);
    run('ip', ['netns', 'exec', r, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    // The internet side: hosts there reach public addresses only; the internet gateway maps the Elastic IP.
    run('ip', ['-n', r, 'link', 'add', 'inet', 'type', 'bridge']);
    run('ip', ['-n', r, 'link', 'set', 'inet', 'up']);
    run('ip', ['-n', r, 'addr', 'add', `${ADDRESSES.internetGateway}/24`, 'dev', 'inet']);
    run('ip', ['netns', 'exec', r, 'iptables', '-A', 'FORWARD', '-i', 'inet', '-d', this.vpcCidr, '-m', 'conntrack', '!', '--ctstate', 'DNAT', '-j', 'DROP']);

    this.daemon(r, 'dnsmasq', [
      '--keep-in-foreground', '--conf-file=/dev/null', '--no-hosts', '--no-resolv', '--bind-interfaces', '--pid-file=', '--user=nobody',
      `--listen-address=${ADDRESSES.vpcResolver}`,
      `--host-record=s3.amazonaws.com,${ADDRESSES.s3}`,
      `--host-record=${props.bundle.host},${ADDRESSES.bundle}`,
    ]);

    const tls = this.makeTls(props.bundle.host);
    this.bundle = await startBundleServer(join(this.dir, 'bundle.sock'), props.bundle.root, tls);
    this.servers.push(this.bundle.server);
    this.relay(r, ADDRESSES.bundle, 443, join(this.dir, 'bundle.sock'));
    if (props.s3Endpoint) {
      const { hostname, port } = new URL(props.s3Endpoint);
      const s3 = createServer((client) => {
        const upstream = connect(Number(port), hostname);
        client.pipe(upstream).pipe(client);
        client.on('error', () => upstream.destroy());
        upstream.on('error', () => client.destroy());
      });
      await new Promise<void>((resolve, reject) => s3.once('error', reject).listen(join(this.dir, 's3.sock'), resolve));
      this.servers.push(s3);
      this.relay(r, ADDRESSES.s3, 80, join(this.dir, 's3.sock'));
    }
  }

  /** A test CA and the bundle server's certificate for `host`; the CA is added to every image's trust store. */
  private makeTls(host: string): { key: string; cert: string } {
    const d = join(this.dir, 'tls');
    mkdirSync(d);
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    run('openssl', ['req', '-x509', ...ec, '-keyout', join(d, 'ca.key'), '-out', join(d, 'ca.crt'), '-days', '2', '-subj', '/CN=dcos-cfn boot test CA']);
    run('openssl', ['req', ...ec, '-keyout', join(d, 'server.key'), '-out', join(d, 'server.csr'), '-subj', `/CN=${host}`]);
    writeFileSync(join(d, 'ext'), `subjectAltName=DNS:${host}\n`);
    run('openssl', ['x509', '-req', '-in', join(d, 'server.csr'), '-CA', join(d, 'ca.crt'), '-CAkey', join(d, 'ca.key'), '-CAcreateserial', '-out', join(d, 'server.crt'), '-days', '2', '-extfile', join(d, 'ext')]);
    this.caCert = readFileSync(join(d, 'ca.crt'), 'utf8');
    return { key: readFileSync(join(d, 'server.key'), 'utf8'), cert: readFileSync(join(d, 'server.crt'), 'utf8') };
  }

  private addNamespace(name: string): void {
    run('ip', ['netns', 'add', name]);
    this.namespaces.push(name);
  }

  /** Deletes a namespace this world made (its processes must have ended); its links go with it. */
  deleteNamespace(name: string): void {
    const i = this.namespaces.indexOf(name);
    if (i < 0) return;
    for (const child of this.processes) {
      if (child.spawnargs.includes(name) && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore', timeout: 10_000 });
    this.namespaces.splice(i, 1);
  }

  /** A long-running process in a network namespace, ended by `destroy`. */
  daemon(netns: string, command: string, args: readonly string[]): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', netns, command, ...args], { stdio: 'ignore' });
    this.processes.push(child);
    return child;
  }

  /** `address:port` in a namespace, relayed to a Unix socket of the harness. */
  private relay(netns: string, address: string, port: number, socket: string): void {
    this.daemon(netns, 'socat', [`TCP-LISTEN:${port},bind=${address},fork,reuseaddr`, `UNIX-CONNECT:${socket}`]);
  }

  /** The internet gateway's one-to-one NAT between the Elastic IP and an instance's private address. */
  mapElasticIp(privateIp: string): void {
    const nat = (...rule: string[]) => run('ip', ['netns', 'exec', this.router, 'iptables', '-t', 'nat', ...rule]);
    nat('-A', 'PREROUTING', '-i', 'inet', '-d', ADDRESSES.elasticIp, '-j', 'DNAT', '--to-destination', privateIp);
    nat('-A', 'POSTROUTING', '-s', privateIp, '-o', 'inet', '-j', 'SNAT', '--to-source', ADDRESSES.elasticIp);
  }

  /** A blank EBS volume (sparse, 320 MiB: XFS needs 300) as a loop device. */
  createVolume(volumeId: string): Volume {
    const file = join(this.dir, `${volumeId}.img`);
    run('truncate', ['-s', '320M', file]);
    const loop = run('losetup', ['--find', '--show', file]).trim();
    const [major, minor] = run('stat', ['-L', '-c', '%t %T', loop]).trim().split(' ').map((h) => parseInt(h, 16)) as [number, number];
    const volume = { volumeId, file, loop, major, minor };
    this.volumes.push(volume);
    return volume;
  }

  /** Starts an instance: its network, its metadata service, its machine, and the program. */
  async boot(options: BootOptions): Promise<Instance> {
    const n = this.links++;
    const netns = `dcb${this.id}-${n}-${options.name}`;
    const dir = join(this.dir, `${n}-${options.name}`);
    const instanceId = `i-0${randomBytes(8).toString('hex')}`;
    mkdirSync(join(dir, 'shared'), { recursive: true });
    this.addNamespace(netns);
    const r = this.router;
    const link = `v${this.id}${n}`;
    run('ip', ['-n', r, 'link', 'add', link, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
    run('ip', ['-n', r, 'link', 'set', link, 'master', options.network === 'vpc' ? 'br0' : 'inet', 'up']);
    run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    const prefix = options.network === 'vpc' ? options.subnet!.split('/')[1] : '24';
    run('ip', ['-n', netns, 'addr', 'add', `${options.privateIp}/${prefix}`, 'dev', 'eth0']);
    run('ip', ['-n', netns, 'link', 'set', 'eth0', 'up']);
    run('ip', ['-n', netns, 'route', 'add', 'default', 'via', options.network === 'vpc' ? gatewayOf(options.subnet!) : ADDRESSES.internetGateway]);

    let imds: Imds | undefined;
    if (options.network === 'vpc') {
      run('ip', ['-n', netns, 'addr', 'add', '169.254.169.254/32', 'dev', 'lo']);
      const identity: InstanceIdentity = {
        instanceId,
        privateIp: options.privateIp,
        region: 'us-east-1',
        availabilityZone: 'us-east-1a',
        roleName: options.roleName ?? 'dcos-boot-role',
        userData: options.program,
      };
      imds = await startImds(join(dir, 'imds.sock'), identity);
      this.servers.push(imds.server);
      this.relay(netns, '169.254.169.254', 80, join(dir, 'imds.sock'));
    }

    this.writeImage(dir, options);
    writeFileSync(join(dir, 'hostname'), options.name.toLowerCase());
    writeFileSync(join(dir, 'user-data'), options.program);
    // Sleeps and the wall clock run faster; monotonic clocks (curl's and apt's own timeouts per attempt) stay real.
    const env = options.timeLapse ? [`LD_PRELOAD=${LIBFAKETIME}`, `FAKETIME=+0 x${options.timeLapse}`, 'FAKETIME_DONT_FAKE_MONOTONIC=1'] : [];
    writeFileSync(join(dir, 'env'), env.map((l) => `${l}\n`).join(''));
    writeFileSync(join(dir, 'volumes'), (options.volumes ?? []).map((v) => `${v.volumeId} ${v.loop} ${v.major} ${v.minor}\n`).join(''));
    if (options.preBoot) writeFileSync(join(dir, 'pre-boot'), options.preBoot);

    const log = join(dir, 'sandbox.log');
    writeFileSync(log, '');
    const child = spawn(
      'sh',
      ['-c', `exec ip netns exec "$1" unshare --mount --uts --pid --fork --kill-child --mount-proc bash "$2" "$3" >> "$4" 2>&1`, 'sh', netns, INIT, dir, log],
      { stdio: 'ignore' },
    );
    this.processes.push(child);
    const instance = new Instance(this, options.name, netns, dir, instanceId, child, imds);
    this.instances.push(instance);
    // Bounded: the init must be running before anyone enters it.
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        instance.initPid;
        break;
      } catch (err) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${options.name}: the sandbox did not start: ${readFileSync(log, 'utf8')} ${String(err)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    return instance;
  }

  /** The machine image: the host's files, plus the fakes at the AWS boundary and this world's trust and endpoints. */
  private writeImage(dir: string, options: BootOptions): void {
    const image = join(dir, 'image');
    const put = (path: string, text: string, mode = 0o644) => {
      mkdirSync(join(image, path, '..'), { recursive: true });
      writeFileSync(join(image, path), text, { mode });
    };
    put('/etc/resolv.conf', `nameserver ${ADDRESSES.vpcResolver}\n`);
    put('/etc/hosts', `127.0.0.1 localhost\n${options.privateIp} ${options.name.toLowerCase()}\n`);
    put('/etc/ssl/certs/ca-certificates.crt', readFileSync('/etc/ssl/certs/ca-certificates.crt', 'utf8') + this.caCert);
    // The AWS CLI reaches S3 (the emulator) as it reaches AWS, with the credentials of the instance role.
    put('/root/.aws/config', `[default]\nendpoint_url = http://${ADDRESSES.s3}\n`);
    for (const fake of ['cfn-signal']) {
      mkdirSync(join(image, 'usr/local/bin'), { recursive: true });
      copyFileSync(join(FAKES, fake), join(image, 'usr/local/bin', fake));
      chmodSync(join(image, 'usr/local/bin', fake), 0o755);
    }
    mkdirSync(join(image, 'usr/local/sbin'), { recursive: true });
    copyFileSync(join(FAKES, 'systemctl'), join(image, 'usr/local/sbin/systemctl'));
    chmodSync(join(image, 'usr/local/sbin/systemctl'), 0o755);
    const aws = awsCli();
    if (aws) put('/usr/local/bin/aws', `#!/bin/sh\nexec ${aws} "$@"\n`, 0o755);
    for (const [path, text] of Object.entries(options.files ?? {})) put(path, text, 0o755);
  }

  async destroy(): Promise<void> {
    await Promise.all(this.instances.map((i) => i.stop()));
    await Promise.all(this.servers.map((s) => new Promise((resolve) => s.close(resolve))));
    this.destroySync();
  }

  /** Ends every process, namespace and loop device of this world and removes its folder. Never throws. */
  destroySync(): void {
    for (const child of this.processes) {
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        try {
          process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    // A killed instance's mounts are released as its last process ends: wait for that before detaching.
    for (const ns of this.namespaces.reverse()) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 10_000 });
    this.namespaces.length = 0;
    for (const v of this.volumes) spawnSync('losetup', ['-d', v.loop], { stdio: 'ignore', timeout: 10_000 });
    this.volumes.length = 0;
    rmSync(this.dir, { recursive: true, force: true });
    LIVE.delete(this);
  }
}

/** The subnet's router address, `.1` (AWS's VPC router is `.1` too). */
export function gatewayOf(subnet: string): string {
  return formatIp(parseCidr(subnet)!.base + 1);
}
