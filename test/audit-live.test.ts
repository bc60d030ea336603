/**
 * `npm run audit -- --stack-name` as the user runs it: the CLI as a subprocess against the synthesized
 * default cluster deployed to moto_server, then changed behind CloudFormation's back with the SDK, the
 * way an operator does it in an incident: SSH opened to the internet on the masters' group, an Elastic
 * IP associated with a master, an extra interface in a public subnet, a load balancer made by hand.
 *
 * Between the CLI and moto sits a loopback proxy that answers chosen calls the way AWS does when a
 * permission is missing (HTTP 403, `UnauthorizedOperation`) or when it throttles (HTTP 503,
 * `RequestLimitExceeded`), so the real SDK clients' retry and error parsing are exercised.
 */
import { uploadStandInBundle } from './boot/bundle.js';
import { ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import {
  AllocateAddressCommand,
  AssociateAddressCommand,
  AttachNetworkInterfaceCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateNetworkInterfaceCommand,
  DisassociateAddressCommand,
  EC2Client,
} from '@aws-sdk/client-ec2';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteLoadBalancerCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { execa } from 'execa';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LiveAuditResult } from '../lib/audit/live/audit.js';
import { measureDeploy } from './helpers/measure.js';
import { loadTemplates } from '../lib/deploy/templates.js';
import { compile, writeOutput } from '../lib/synth.js';
import defaultCluster from '../stacks/clusters/default.js';
import { startMotoOrSkip, stopMoto, type Moto } from './moto.js';

const CLI = fileURLToPath(new URL('../lib/cli.js', import.meta.url));
const TRACE = /^\s+at .*(\.js|\.ts):\d+/m;
const STACK = 'dcos-live';
const PARAMETERS = { KeyName: 'ops', NodeImageId: 'ami-12345678', GatewayImageId: 'ami-0abcdef1234567890' };

/**
 * A proxy to moto that answers a call (by its query-protocol Action) with an AWS error instead, a given
 * number of times, and counts the requests it sees per Action (retries included).
 */
class AwsLikeProxy {
  readonly requests: Record<string, number> = {};
  readonly errors: Record<string, { status: number; code: string; message: string }[]> = {};
  private server: Server | undefined;

  constructor(private readonly target: string) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const action = new URLSearchParams(body.toString()).get('Action') ?? '';
        this.requests[action] = (this.requests[action] ?? 0) + 1;
        const error = this.errors[action]?.shift();
        if (error) {
          // EC2's error shape (the query APIs of ELB, Auto Scaling and CloudFormation use ErrorResponse).
          const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${error.code}</Code><Message>${error.message}</Message></Error></Errors><RequestID>5b0c2f8e-0000-4000-8000-000000000001</RequestID></Response>`;
          res.writeHead(error.status, { 'content-type': 'text/xml;charset=UTF-8' }).end(xml);
          return;
        }
        const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'content-length')) as Record<string, string>;
        fetch(`${this.target}${req.url}`, { method: req.method ?? 'POST', headers, ...(body.length ? { body } : {}) })
          .then(async (answer) => res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/xml' }).end(Buffer.from(await answer.arrayBuffer())))
          .catch((err: unknown) => res.writeHead(502).end(String(err)));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

/** Runs the live audit CLI (asynchronously: the proxy is served by this process). */
const audit = (endpoint: string, ...args: string[]) =>
  execa(process.execPath, [CLI, 'audit', '--stack-name', STACK, '--endpoint-url', endpoint, '--region', 'us-east-1', ...args], {
    reject: false,
    env: { AWS_EC2_METADATA_DISABLED: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });

const row = (stdout: string, group: string) => new RegExp(`^\\| \\S+ +\\| ${group.replace('/', '\\/')} +\\| ([^|]+?) +\\|$`, 'm').exec(stdout)?.[1];

describe('npm run audit -- --stack-name against the default cluster on moto_server (the CLI as a subprocess)', function () {
  let moto: Moto | undefined;
  let proxy: AwsLikeProxy;
  let endpoint: string;
  let ec2: EC2Client;
  let elbv2: ElasticLoadBalancingV2Client;
  let dir: string;
  /** Physical IDs by nested stack and logical ID. */
  const physical: Record<string, Record<string, string>> = {};

  before(async function () {
    moto = await startMotoOrSkip(this);
    dir = mkdtempSync(join(tmpdir(), 'dcos-live-'));
    await writeOutput(compile(defaultCluster), dir);
    await uploadStandInBundle(dir, defaultCluster, moto.endpoint); // the bundle in its bucket, as npm run bundle puts it
    const aws = { endpointUrl: moto.endpoint, region: 'us-east-1' };
    const lines: string[] = [];
    const { result } = await measureDeploy(aws, { templates: loadTemplates(dir), stackName: STACK, parameters: PARAMETERS, endpointUrl: moto.endpoint, confirm: async () => true, print: (l) => lines.push(l), pollMs: 20, eventPollMs: 20 });
    assert.equal(result.kind, 'deployed', lines.join('\n'));
    ec2 = new EC2Client({ endpoint: moto.endpoint, region: 'us-east-1' });
    elbv2 = new ElasticLoadBalancingV2Client({ endpoint: moto.endpoint, region: 'us-east-1' });
    const { cfn } = await import('../lib/deploy/aws.js').then((m) => m.connect(aws));
    const rootResources = (await cfn.send(new ListStackResourcesCommand({ StackName: STACK }))).StackResourceSummaries ?? [];
    for (const nested of rootResources.filter((r) => r.ResourceType === 'AWS::CloudFormation::Stack')) {
      const summaries = (await cfn.send(new ListStackResourcesCommand({ StackName: nested.PhysicalResourceId }))).StackResourceSummaries ?? [];
      physical[nested.LogicalResourceId!] = Object.fromEntries(summaries.map((r) => [r.LogicalResourceId!, r.PhysicalResourceId!]));
    }
    cfn.destroy();
    proxy = new AwsLikeProxy(moto.endpoint);
    endpoint = await proxy.start();
  });
  after(async () => {
    ec2?.destroy();
    elbv2?.destroy();
    await proxy?.stop();
    await stopMoto(moto);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const masterGroup = () => physical['Network']!['MasterSecurityGroup']!;
  const master = () => physical['MasterZone']!['Master1']!;
  const ssh = { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '0.0.0.0/0' }] };

  it('as deployed: no master reachable, the same exposure as the templates, exit 0, with batch calls only', async () => {
    const run = await audit(endpoint);
    assert.equal(run.exitCode, 0, `${run.stdout}\n${run.stderr}`);
    assert.equal(row(run.stdout, 'MasterZone/Master1'), 'unreachable');
    assert.equal(row(run.stdout, 'MasterZone/AdminInstance'), 'unreachable');
    assert.equal(row(run.stdout, 'Agents/PrivateAgentGroup'), 'unreachable');
    assert.equal(row(run.stdout, 'Agents/PublicAgentGroup'), 'tcp 80, 443 via PublicLoadBalancer');
    assert.equal(row(run.stdout, 'Vpn/VpnGateway'), 'udp 1194 direct');
    assert.match(run.stdout, /^ {2}None: every group's live exposure is its template's\.$/m);
    assert.match(run.stdout, /^No findings\.$/m);
    assert.match(run.stdout, /^audit: stack dcos-live: 5 compute groups checked live, 0 findings, no drift from the deployed templates\.$/m);
    const json = await audit(endpoint, '--json');
    const result = JSON.parse(json.stdout) as LiveAuditResult;
    assert.deepEqual(result.stacks.map((s) => s.path), ['Root', 'Network', 'MasterZone', 'Agents', 'Vpn']);
    // One call per kind for all instances, groups, rules, subnets, tables, ACLs: never one per resource.
    for (const action of ['ec2:DescribeInstances', 'ec2:DescribeSecurityGroupRules', 'ec2:DescribeSubnets', 'ec2:DescribeRouteTables', 'ec2:DescribeNetworkAcls', 'autoscaling:DescribeAutoScalingGroups']) {
      assert.equal(result.calls[action], 1, `${action}: ${JSON.stringify(result.calls)}`);
    }
    assert.equal(result.calls['cloudformation:GetTemplate'], 5);
    assert.deepEqual(result.unreadable, []);
  });

  it('SSH opened to the internet on the masters\' group: two findings naming the rule added outside the template; no public address, so still unreachable', async () => {
    await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: masterGroup(), IpPermissions: [ssh] }));
    const run = await audit(endpoint);
    assert.equal(run.exitCode, 1, run.stdout);
    assert.match(run.stdout, /^DCOS\.EC2\.2 .*\n {2}fix: master security group MasterSecurityGroup admits 0\.0\.0\.0\/0 on tcp 22; admit security groups instead\n {2}- Network\/MasterSecurityGroup rule sgr-[0-9a-f]+ \(not in the template\)$/m);
    assert.match(run.stdout, /^DCOS\.EC2\.3 .*\n {2}fix: admits 0\.0\.0\.0\/0 on tcp 22 \(SSH\)$/m);
    // The masters have no public address and their subnet routes out through NAT only: the rule alone opens nothing.
    assert.equal(row(run.stdout, 'MasterZone/Master1'), 'unreachable');
    assert.doesNotMatch(run.stdout, /DCOS\.EC2\.4/);
  });

  it('an Elastic IP associated with a master by hand: a finding naming it; the master subnet still routes out through NAT only', async () => {
    const { AllocationId } = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    await ec2.send(new AssociateAddressCommand({ AllocationId, InstanceId: master() }));
    const run = await audit(endpoint);
    assert.equal(run.exitCode, 1, run.stdout);
    assert.match(run.stdout, new RegExp(`^ {2}fix: master gets a public IP \\(Elastic IP [\\d.]+ \\(${AllocationId}, not a stack resource\\) on its primary interface\\); .*\\n {2}- MasterZone/Master1$`, 'm'));
    assert.equal(row(run.stdout, 'MasterZone/Master1'), 'unreachable');
    await ec2.send(new DisassociateAddressCommand({ PublicIp: /Elastic IP ([\d.]+)/.exec(run.stdout)![1] }));
  });

  it('an extra interface in the public subnet with that Elastic IP: master reachable on tcp 22 live, reported as drift from the template', async () => {
    const { NetworkInterface } = await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: physical['Network']!['PublicSubnet1'], Groups: [masterGroup()] }));
    const eni = NetworkInterface!.NetworkInterfaceId!;
    await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eni, InstanceId: master(), DeviceIndex: 1 }));
    const { AllocationId } = await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
    await ec2.send(new AssociateAddressCommand({ AllocationId, NetworkInterfaceId: eni }));
    const run = await audit(endpoint);
    assert.equal(run.exitCode, 1, run.stdout);
    assert.equal(row(run.stdout, 'MasterZone/Master1'), 'tcp 22 direct');
    assert.match(run.stdout, new RegExp(`master gets a public IP \\(Elastic IP [\\d.]+ \\(${AllocationId}, not a stack resource\\) on its interface ${eni} \\(not a stack resource\\)\\)`));
    assert.match(run.stdout, /^ {2}master MasterZone\/Master1:\n {4}tcp 22 direct: reachable live, unreachable in the template$/m);
    assert.match(run.stdout, /^DCOS\.EC2\.4 .*\n {2}fix: master is reachable: tcp 22 direct; expected: unreachable\n {2}- MasterZone\/Master1$/m);
    const result = JSON.parse((await audit(endpoint, '--json')).stdout) as LiveAuditResult;
    const drift = result.drift.find((d) => d.group === 'MasterZone/Master1');
    assert.deepEqual(drift?.changes, [{ way: 'direct', protocol: 'tcp', from: 22, to: 22, live: 'reachable', template: 'unreachable' }]);
    assert.equal(drift?.direction, 'wider');
  });

  it('a load balancer made by hand that forwards to a master counts: reachable through it', async () => {
    const { LoadBalancers } = await elbv2.send(new CreateLoadBalancerCommand({ Name: 'by-hand', Type: 'network', Scheme: 'internet-facing', Subnets: [physical['Network']!['PublicSubnet1']!] }));
    const lbArn = LoadBalancers![0]!.LoadBalancerArn!;
    try {
      const { TargetGroups } = await elbv2.send(new CreateTargetGroupCommand({ Name: 'by-hand-ssh', Protocol: 'TCP', Port: 22, VpcId: physical['Network']!['Vpc'], TargetType: 'instance' }));
      await elbv2.send(new RegisterTargetsCommand({ TargetGroupArn: TargetGroups![0]!.TargetGroupArn, Targets: [{ Id: master(), Port: 22 }] }));
      await elbv2.send(new CreateListenerCommand({ LoadBalancerArn: lbArn, Protocol: 'TCP', Port: 2222, DefaultActions: [{ Type: 'forward', TargetGroupArn: TargetGroups![0]!.TargetGroupArn }] }));
      const result = JSON.parse((await audit(endpoint, '--json')).stdout) as LiveAuditResult;
      const paths = result.exposure.find((e) => e.resource === 'Master1')!.paths;
      const viaHand = paths.find((p) => p.via === 'load-balancer');
      assert.deepEqual(viaHand && { protocol: viaHand.protocol, from: viaHand.from, certainty: viaHand.certainty, lb: viaHand.loadBalancer }, {
        protocol: 'tcp',
        from: 2222,
        certainty: 'proved',
        lb: { stack: 'outside the stacks', file: '', resource: 'by-hand (not a stack resource)', type: 'AWS::ElasticLoadBalancingV2::LoadBalancer' },
      });
    } finally {
      await elbv2.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lbArn }));
    }
  });

  it('a refused read leaves its facts open: every group with a way in may be reachable, the call named, exit 1, no stack trace', async () => {
    const message = 'You are not authorized to perform this operation. User: arn:aws:iam::123456789012:user/auditor is not authorized to perform: ec2:DescribeSecurityGroupRules because no identity-based policy allows the ec2:DescribeSecurityGroupRules action';
    proxy.errors['DescribeSecurityGroupRules'] = [{ status: 403, code: 'UnauthorizedOperation', message }];
    const run = await audit(endpoint);
    assert.equal(run.exitCode, 1, run.stdout);
    assert.doesNotMatch(run.stderr, TRACE);
    assert.match(run.stdout, /^ {2}- Access denied: ec2:DescribeSecurityGroupRules was refused in us-east-1 \(AWS said: You are not authorized/m);
    const open = '(the current rules of MasterSecurityGroup could not be read: Access denied: ec2:DescribeSecurityGroupRules)';
    assert.equal(row(run.stdout, 'MasterZone/Master1'), `may be: all traffic direct ${open}`);
    assert.match(row(run.stdout, 'Vpn/VpnGateway') ?? '', /^may be: all traffic direct \(the current rules of VpnSecurityGroup could not be read/);
    assert.match(row(run.stdout, 'Agents/PublicAgentGroup') ?? '', /^may be: tcp 80, 443 via PublicLoadBalancer \(the current rules of PublicLbSecurityGroup could not be read/);
    assert.match(run.stdout, /^ {4}all traffic direct: may be reachable live, unreachable in the template$/m);
    // Without a public address or a load balancer in front, no rule could let the internet in: proved unreachable still.
    for (const group of ['MasterZone/AdminInstance', 'Agents/PrivateAgentGroup']) assert.equal(row(run.stdout, group), 'unreachable', group);
    assert.match(run.stdout, /the current rules of MasterSecurityGroup could not be read: Access denied: ec2:DescribeSecurityGroupRules/);
  });

  it('throttled calls are retried with backoff and the audit completes with the same answer', async () => {
    const unthrottled = JSON.parse((await audit(endpoint, '--json')).stdout) as LiveAuditResult;
    const before = proxy.requests['DescribeInstances'] ?? 0;
    proxy.errors['DescribeInstances'] = [
      { status: 503, code: 'RequestLimitExceeded', message: 'Request limit exceeded.' },
      { status: 503, code: 'RequestLimitExceeded', message: 'Request limit exceeded.' },
    ];
    const run = await audit(endpoint, '--json');
    assert.equal(proxy.requests['DescribeInstances']! - before, 3, 'two throttled attempts, then the answer');
    const result = JSON.parse(run.stdout) as LiveAuditResult;
    assert.equal(result.calls['ec2:DescribeInstances'], 1, 'counted once: retries are the SDK\'s');
    assert.deepEqual(result.exposure, unthrottled.exposure);
    assert.deepEqual(result.unreadable, []);
  });

  it('names a stack that does not exist, and refuses a bad --timeout', async () => {
    const missing = await execa(process.execPath, [CLI, 'audit', '--stack-name', 'dcos-typo', '--endpoint-url', endpoint, '--region', 'eu-west-1'], { reject: false, env: { AWS_EC2_METADATA_DISABLED: 'true' } });
    assert.equal(missing.exitCode, 1);
    assert.match(missing.stderr, /^error: Stack dcos-typo does not exist in eu-west-1\. Check --stack-name and --region \(or --profile\)\.$/m);
    assert.doesNotMatch(missing.stderr, TRACE);
    const timeout = await audit(endpoint, '--timeout', '5m');
    assert.equal(timeout.exitCode, 2);
    assert.match(timeout.stderr, /^error: --timeout 5m: expected whole seconds from 1 to 86400\.$/m);
  });
});

describe('npm run audit: live and template options are not mixed (the CLI as a subprocess)', () => {
  it('names the live option given without --stack-name', async () => {
    const noStack = await execa(process.execPath, [CLI, 'audit', '--profile', 'ops'], { reject: false });
    assert.equal(noStack.exitCode, 2);
    assert.match(noStack.stderr, /^error: --profile belongs to a live audit, which needs --stack-name NAME\./m);
  });

  it('names --compare and the template path given with --stack-name, not the live options', async () => {
    const compare = await execa(process.execPath, [CLI, 'audit', '--stack-name', 'dcos-prod', '--compare', 'out'], { reject: false });
    assert.equal(compare.exitCode, 2);
    assert.match(compare.stderr, /^error: --compare: a live audit \(--stack-name\) reads the deployed stack, not templates/m);
    const path = await execa(process.execPath, [CLI, 'audit', 'out', '--stack-name', 'dcos-prod'], { reject: false });
    assert.equal(path.exitCode, 2);
    assert.match(path.stderr, /^error: template path out: a live audit/m);
  });
});
