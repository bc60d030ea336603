/**
 * Drift detection, which moto does not implement, with aws-sdk-client-mock answering as the CloudFormation
 * API does (DetectStackDrift, DescribeStackDriftDetectionStatus, DescribeStackResourceDrifts, with the field
 * names, status values and JSON-text property values of the API reference): nested stacks found page by page,
 * detections that take a while, fail, are refused or outlast the wait, and drift of every kind.
 */
import {
  CloudFormationClient,
  DescribeStackDriftDetectionStatusCommand,
  DescribeStackResourceDriftsCommand,
  DescribeStacksCommand,
  DetectStackDriftCommand,
  ListStackResourcesCommand,
  type DescribeStackDriftDetectionStatusOutput,
  type StackResourceDrift,
  type StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import { mockClient, type AwsStub } from 'aws-sdk-client-mock';
import assert from 'node:assert/strict';
import { detectDrift, type DetectDriftProps } from '../lib/drift/detect.js';
import { formatDriftReport, summarizeDrift } from '../lib/drift/report.js';
import { UserError } from '../lib/errors.js';

const ACCOUNT = '111122223333';
const arn = (name: string, n: number) => `arn:aws:cloudformation:us-east-1:${ACCOUNT}:stack/${name}/5e1c0a70-0000-4000-8000-00000000000${n}`;
const ROOT = arn('dcos-prod', 1);
const NESTED = {
  Network: arn('dcos-prod-Network-1Q2W3E4R5T6Y', 2),
  MasterZone: arn('dcos-prod-MasterZone-7U8I9O0P1A2S', 3),
  Agents: arn('dcos-prod-Agents-3D4F5G6H7J8K', 4),
  Vpn: arn('dcos-prod-Vpn-9L0Z1X2C3V4B', 5),
} as const;
type Nested = keyof typeof NESTED;
const AT = new Date('2026-03-02T10:15:00.000Z');
const MASTER_SG = 'sg-0a1b2c3d4e5f60718';
const VPN_SG = 'sg-0f9e8d7c6b5a40312';

function stackSummary(logicalId: Nested): StackResourceSummary {
  return {
    LogicalResourceId: logicalId,
    PhysicalResourceId: NESTED[logicalId],
    ResourceType: 'AWS::CloudFormation::Stack',
    ResourceStatus: 'UPDATE_COMPLETE',
    LastUpdatedTimestamp: AT,
    DriftInformation: { StackResourceDriftStatus: 'NOT_CHECKED' },
  };
}

function resourceDrift(stackId: string, logicalId: string, type: string, status: StackResourceDrift['StackResourceDriftStatus'], extra: Partial<StackResourceDrift> = {}): StackResourceDrift {
  return {
    StackId: stackId,
    LogicalResourceId: logicalId,
    PhysicalResourceId: `${logicalId.toLowerCase()}-0123456789`,
    ResourceType: type,
    ExpectedProperties: '{}',
    ActualProperties: '{}',
    PropertyDifferences: [],
    StackResourceDriftStatus: status,
    Timestamp: AT,
    ...extra,
  };
}

const inSync = (stack: Nested | 'Root'): StackResourceDrift[] =>
  stack === 'Root'
    ? (Object.keys(NESTED) as Nested[]).map((id) => resourceDrift(ROOT, id, 'AWS::CloudFormation::Stack', 'IN_SYNC', { PhysicalResourceId: NESTED[id] }))
    : [resourceDrift(NESTED[stack], `${stack}Thing`, 'AWS::Logs::LogGroup', 'IN_SYNC')];

/** The drifts an incident leaves: a rule opened by hand, a resized master, a released address, a scaled group. */
const INCIDENT: Record<Nested | 'Root', StackResourceDrift[]> = {
  Root: inSync('Root'),
  Network: [
    resourceDrift(NESTED.Network, 'MasterSecurityGroup', 'AWS::EC2::SecurityGroup', 'MODIFIED', {
      PhysicalResourceId: MASTER_SG,
      ExpectedProperties: JSON.stringify({ GroupDescription: 'DC/OS masters: reachable only from cluster security groups', VpcId: 'vpc-0123456789abcdef0' }),
      ActualProperties: '{"GroupDescription":"DC/OS masters: reachable only from cluster security groups","SecurityGroupIngress":[...]}',
      PropertyDifferences: [
        {
          PropertyPath: '/SecurityGroupIngress/0',
          ExpectedValue: 'null',
          ActualValue: JSON.stringify({ FromPort: 22, IpProtocol: 'tcp', SourceSecurityGroupId: VPN_SG, SourceSecurityGroupOwnerId: ACCOUNT, ToPort: 22 }),
          DifferenceType: 'ADD',
        },
        {
          PropertyPath: '/SecurityGroupIngress/1',
          ExpectedValue: 'null',
          ActualValue: JSON.stringify({ CidrIp: '0.0.0.0/0', FromPort: 22, IpProtocol: 'tcp', ToPort: 22 }),
          DifferenceType: 'ADD',
        },
      ],
    }),
    resourceDrift(NESTED.Network, 'MasterFromVpn22Ingress', 'AWS::EC2::SecurityGroupIngress', 'IN_SYNC', {
      ExpectedProperties: JSON.stringify({ Description: 'VPN clients to masters on tcp 22', FromPort: 22, GroupId: MASTER_SG, IpProtocol: 'tcp', SourceSecurityGroupId: VPN_SG, ToPort: 22 }),
    }),
    resourceDrift(NESTED.Network, 'PublicSubnet1RouteTableAssociation', 'AWS::EC2::SubnetRouteTableAssociation', 'NOT_CHECKED'),
  ],
  MasterZone: [
    resourceDrift(NESTED.MasterZone, 'Master1', 'AWS::EC2::Instance', 'MODIFIED', {
      PhysicalResourceId: 'i-0123456789abcdef0',
      ExpectedProperties: JSON.stringify({ InstanceType: 'm6i.xlarge', Tags: [{ Key: 'Name', Value: 'dcos-master-1' }, { Key: 'dcos:role', Value: 'master' }] }),
      PropertyDifferences: [{ PropertyPath: '/InstanceType', ExpectedValue: 'm6i.xlarge', ActualValue: 'm6i.2xlarge', DifferenceType: 'NOT_EQUAL' }],
    }),
  ],
  Agents: [
    resourceDrift(NESTED.Agents, 'PrivateAgentGroup', 'AWS::AutoScaling::AutoScalingGroup', 'MODIFIED', {
      PropertyDifferences: [{ PropertyPath: '/DesiredCapacity', ExpectedValue: '3', ActualValue: '5', DifferenceType: 'NOT_EQUAL' }],
    }),
  ],
  Vpn: [
    resourceDrift(NESTED.Vpn, 'VpnAddress', 'AWS::EC2::EIP', 'DELETED', { PhysicalResourceId: '203.0.113.25', ActualProperties: undefined }),
    resourceDrift(NESTED.Vpn, 'VpnInterface', 'AWS::EC2::NetworkInterface', 'MODIFIED', {
      PhysicalResourceId: 'eni-0a1b2c3d4e5f60718',
      PropertyDifferences: [{ PropertyPath: '/GroupSet/1', ExpectedValue: 'null', ActualValue: 'sg-0badc0ffee0ddf00d', DifferenceType: 'ADD' }],
    }),
  ],
};

describe('drift detection with CloudFormation responses moto cannot give (aws-sdk-client-mock)', () => {
  let client: CloudFormationClient;
  let cfn: AwsStub<any, any, any>;
  let progress: string[];
  /** Each stack's DescribeStackDriftDetectionStatus answers in turn (the last one repeats). */
  let statuses: Partial<Record<Nested | 'Root', Partial<DescribeStackDriftDetectionStatusOutput>[]>>;
  let drifts: Record<Nested | 'Root', StackResourceDrift[]>;

  const stackOf = (id: string) => (id === ROOT ? 'Root' : (Object.keys(NESTED) as Nested[]).find((k) => NESTED[k] === id)!);
  const detectionId = (stack: string) => `${{ Root: 1, Network: 2, MasterZone: 3, Agents: 4, Vpn: 5 }[stack]}b1c2d3e0-3d1f-11f1-9a4e-0a1b2c3d4e5f`;

  beforeEach(() => {
    process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
    client = new CloudFormationClient({ region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' } });
    cfn = mockClient(client);
    progress = [];
    statuses = {};
    drifts = { Root: inSync('Root'), Network: inSync('Network'), MasterZone: inSync('MasterZone'), Agents: inSync('Agents'), Vpn: inSync('Vpn') };
    cfn.on(DescribeStacksCommand).callsFake((input: { StackName: string }) => {
      if (input.StackName !== 'dcos-prod') throw Object.assign(new Error(`Stack with id ${input.StackName} does not exist`), { name: 'ValidationError' });
      return { Stacks: [{ StackId: ROOT, StackName: 'dcos-prod', StackStatus: 'UPDATE_COMPLETE', CreationTime: AT }] };
    });
    // The root's nested stacks come in two pages; nested stacks have no stacks of their own.
    cfn.on(ListStackResourcesCommand).callsFake((input: { StackName: string; NextToken?: string }) => {
      if (input.StackName !== ROOT) return { StackResourceSummaries: [] };
      return input.NextToken === 'page-2'
        ? { StackResourceSummaries: [stackSummary('Agents'), stackSummary('Vpn')] }
        : { StackResourceSummaries: [stackSummary('Network'), stackSummary('MasterZone')], NextToken: 'page-2' };
    });
    cfn.on(DetectStackDriftCommand).callsFake((input: { StackName: string }) => ({ StackDriftDetectionId: detectionId(stackOf(input.StackName)) }));
    const polled: Record<string, number> = {};
    cfn.on(DescribeStackDriftDetectionStatusCommand).callsFake((input: { StackDriftDetectionId: string }) => {
      const stack = (['Root', ...Object.keys(NESTED)] as (Nested | 'Root')[]).find((s) => detectionId(s) === input.StackDriftDetectionId)!;
      const n = (polled[stack] = (polled[stack] ?? 0) + 1);
      const answers = statuses[stack] ?? [{ DetectionStatus: 'DETECTION_IN_PROGRESS' }, {}];
      const answer = answers[Math.min(n, answers.length) - 1]!;
      const drifted = drifts[stack].filter((d) => d.StackResourceDriftStatus === 'MODIFIED' || d.StackResourceDriftStatus === 'DELETED').length;
      return {
        StackId: stack === 'Root' ? ROOT : NESTED[stack],
        StackDriftDetectionId: input.StackDriftDetectionId,
        Timestamp: AT,
        ...(answer.DetectionStatus === 'DETECTION_IN_PROGRESS'
          ? {}
          : { StackDriftStatus: drifted ? 'DRIFTED' : 'IN_SYNC', DriftedStackResourceCount: drifted, DetectionStatus: 'DETECTION_COMPLETE' }),
        ...answer,
      };
    });
    // Each stack's results in pages of two, to follow NextToken.
    cfn.on(DescribeStackResourceDriftsCommand).callsFake((input: { StackName: string; NextToken?: string }) => {
      const all = drifts[stackOf(input.StackName)];
      const start = input.NextToken ? Number(input.NextToken.slice('token-'.length)) : 0;
      return { StackResourceDrifts: all.slice(start, start + 2), ...(start + 2 < all.length ? { NextToken: `token-${start + 2}` } : {}) };
    });
  });
  afterEach(() => cfn.restore());

  const props = (extra: Partial<DetectDriftProps> = {}): DetectDriftProps => ({
    clients: { cfn: client, region: 'us-east-1' },
    stackName: 'dcos-prod',
    progress: (line) => progress.push(line),
    pollMs: 1,
    ...extra,
  });

  it('starts a detection on the root and on each nested stack found page by page, waits for each, and reads every page of results', async () => {
    drifts.Network = [...inSync('Network'), ...inSync('Network'), resourceDrift(NESTED.Network, 'Vpc', 'AWS::EC2::VPC', 'IN_SYNC')];
    const stacks = await detectDrift(props());
    assert.deepEqual(
      cfn.commandCalls(DetectStackDriftCommand).map((c) => c.args[0].input.StackName),
      [ROOT, NESTED.Network, NESTED.MasterZone, NESTED.Agents, NESTED.Vpn],
    );
    assert.deepEqual(stacks.map((s) => [s.path, s.outcome]), [['Root', 'complete'], ['Network', 'complete'], ['MasterZone', 'complete'], ['Agents', 'complete'], ['Vpn', 'complete']]);
    assert.equal(cfn.commandCalls(DescribeStackDriftDetectionStatusCommand).length, 10, 'each stack polled until complete');
    const networkPages = cfn.commandCalls(DescribeStackResourceDriftsCommand).filter((c) => c.args[0].input.StackName === NESTED.Network);
    assert.deepEqual(networkPages.map((c) => c.args[0].input.NextToken), [undefined, 'token-2']);
    assert.equal(stacks[1]!.resources.length, 3);
    const report = summarizeDrift('dcos-prod', 'us-east-1', stacks);
    assert.equal(report.verdict, 'in-sync');
    assert.equal(report.exitCode, 0);
    assert.match(progress[0]!, /^Detecting drift on dcos-prod and its 4 nested stack\(s\) \(Network, MasterZone, Agents, Vpn\) \.\.\.$/);
    assert.ok(progress.some((l) => /^ {2}MasterZone: IN_SYNC \(\d+ s\)$/.test(l)), progress.join('\n'));
    assert.match(formatDriftReport(report), /drift: dcos-prod: in sync \(exit 0\)\.$/);
  });

  it('lists security-relevant drift first (an opened rule, a resized master, a released address, a group added to an interface), other drift after, exit 3', async () => {
    drifts = INCIDENT;
    const report = summarizeDrift('dcos-prod', 'us-east-1', await detectDrift(props()));
    assert.equal(report.verdict, 'drifted');
    assert.equal(report.exitCode, 3);
    assert.deepEqual(
      report.drifted.map((r) => [`${r.stack}/${r.logicalId}`, r.status, r.security]),
      [
        ['MasterZone/Master1', 'MODIFIED', 'a master'],
        ['Network/MasterSecurityGroup', 'MODIFIED', 'security-group rules'],
        ['Vpn/VpnAddress', 'DELETED', 'public IP'],
        ['Vpn/VpnInterface', 'MODIFIED', 'network interface'],
        ['Agents/PrivateAgentGroup', 'MODIFIED', undefined],
      ],
    );
    // The rule a separate ingress resource declares is not drift; the one opened to the internet is.
    const group = report.drifted[1]!;
    assert.deepEqual(group.properties.map((p) => [p.path, p.difference, p.expected]), [['/SecurityGroupIngress/1', 'ADD', 'null']]);
    assert.deepEqual(JSON.parse(group.properties[0]!.actual), { CidrIp: '0.0.0.0/0', FromPort: 22, IpProtocol: 'tcp', ToPort: 22 });
    assert.deepEqual(report.explained, [{ resource: 'Network/MasterSecurityGroup', property: '/SecurityGroupIngress/0', declaredBy: 'Network/MasterFromVpn22Ingress' }]);
    assert.deepEqual(report.notChecked, { 'AWS::EC2::SubnetRouteTableAssociation': 1 });
    assert.deepEqual(
      report.stacks.map((s) => [s.stack, s.drifted, s.inSync, s.notChecked]),
      [['Root', 0, 4, 0], ['Network', 1, 1, 1], ['MasterZone', 1, 0, 0], ['Agents', 1, 0, 0], ['Vpn', 2, 0, 0]],
    );

    const text = formatDriftReport(report);
    assert.match(text, /^Drift of dcos-prod \(us-east-1\): 5 resource\(s\) drifted in 4 of 5 stack\(s\), 4 security-relevant\.$/m);
    assert.match(text, /^\| a master +\| MasterZone\/Master1 +\| AWS::EC2::Instance +\| MODIFIED \| \/InstanceType +\| NOT_EQUAL +\| m6i\.xlarge +\| m6i\.2xlarge +\|$/m);
    assert.match(text, /^\| security-group rules \| Network\/MasterSecurityGroup +\| AWS::EC2::SecurityGroup +\| MODIFIED \| \/SecurityGroupIngress\/1 \| ADD +\| null +\| \{"CidrIp":"0\.0\.0\.0\/0","FromPort":22,"IpProtocol":"tcp","ToPort":22\} \|$/m);
    assert.match(text, /^\| public IP +\| Vpn\/VpnAddress +\| AWS::EC2::EIP +\| DELETED +\|/m);
    const rows = text.split('\n').filter((l) => l.startsWith('| '));
    assert.ok(rows.findIndex((l) => l.includes('PrivateAgentGroup')) > rows.findIndex((l) => l.includes('VpnAddress')), 'other drift after the security-relevant');
    assert.match(text, /CloudFormation cannot check drift on: AWS::EC2::SubnetRouteTableAssociation \(1\)\./);
    assert.match(text, /Not drift: 1 rule\(s\) .* declared by this cluster's own SecurityGroupIngress\/Egress resources \(e\.g\. Network\/MasterFromVpn22Ingress\)/);
    assert.match(text, /drift: dcos-prod: DRIFTED \(exit 3\)\./);
    assert.deepEqual(JSON.parse(JSON.stringify(report)), report, 'the --json form carries the whole report');
  });

  it('a detection that fails keeps the results CloudFormation has, names its reason and each resource it could not read, exit 4', async () => {
    const reason = 'Failed to detect drift on resource [VpnGateway]';
    statuses.Vpn = [{ DetectionStatus: 'DETECTION_FAILED', DetectionStatusReason: reason, StackDriftStatus: 'UNKNOWN' }];
    drifts.Vpn = [
      ...inSync('Vpn'),
      resourceDrift(NESTED.Vpn, 'VpnGateway', 'AWS::EC2::Instance', 'UNKNOWN', {
        DriftStatusReason: `User: arn:aws:iam::${ACCOUNT}:user/ops is not authorized to perform: ec2:DescribeInstances`,
      }),
    ];
    const report = summarizeDrift('dcos-prod', 'us-east-1', await detectDrift(props()));
    assert.equal(report.verdict, 'incomplete');
    assert.equal(report.exitCode, 4);
    const vpn = report.stacks.find((s) => s.stack === 'Vpn')!;
    assert.deepEqual([vpn.outcome, vpn.reason, vpn.inSync, vpn.unknown], ['failed', reason, 1, 1]);
    assert.ok(progress.some((l) => l.startsWith(`  Vpn: DETECTION_FAILED: ${reason} (`)), progress.join('\n'));
    const text = formatDriftReport(report);
    assert.match(text, /^ {2}- Vpn: DETECTION_FAILED: Failed to detect drift on resource \[VpnGateway\]$/m);
    assert.match(text, /^ {2}- Vpn\/VpnGateway \(AWS::EC2::Instance\): User: .* is not authorized to perform: ec2:DescribeInstances$/m);
    assert.match(text, /nothing drifted among what was checked, but not everything could be checked \(exit 4\)/);
  });

  it('waits no longer than its bound, says what it is waiting for, and reports the stacks still running', async () => {
    statuses.Agents = [{ DetectionStatus: 'DETECTION_IN_PROGRESS' }];
    const started = Date.now();
    const stacks = await detectDrift(props({ pollMs: 5, timeoutMs: 120, progressEveryMs: 40 }));
    assert.ok(Date.now() - started < 2000, 'bounded');
    const agents = stacks.find((s) => s.path === 'Agents')!;
    assert.equal(agents.outcome, 'timed-out');
    assert.deepEqual(agents.resources, [], 'no stale results of an earlier detection');
    assert.equal(cfn.commandCalls(DescribeStackResourceDriftsCommand).filter((c) => c.args[0].input.StackName === NESTED.Agents).length, 0);
    assert.ok(progress.some((l) => /^ {2}still detecting: Agents \(\d+ s of at most 0 s\)$/.test(l)), progress.join('\n'));
    assert.ok(progress.some((l) => /^ {2}timed out waiting for Agents: still running after 0 s \(CloudFormation finishes it on its own; run drift again later, or raise --timeout\)$/.test(l)), progress.join('\n'));
    const report = summarizeDrift('dcos-prod', 'us-east-1', stacks);
    assert.equal(report.exitCode, 4);
    assert.equal(stacks.filter((s) => s.outcome === 'complete').length, 4, 'the others are read');
  });

  it('a stack AWS refuses to check (an update in progress) is reported with its message; the others are checked', async () => {
    cfn.on(DetectStackDriftCommand, { StackName: NESTED.MasterZone }).rejects(
      Object.assign(new Error('Drift detection is not supported on stacks in UPDATE_IN_PROGRESS status.'), { name: 'ValidationError', $metadata: { httpStatusCode: 400 } }),
    );
    const stacks = await detectDrift(props());
    const masterZone = stacks.find((s) => s.path === 'MasterZone')!;
    assert.deepEqual([masterZone.outcome, masterZone.reason], ['refused', 'Drift detection is not supported on stacks in UPDATE_IN_PROGRESS status.']);
    assert.equal(stacks.filter((s) => s.outcome === 'complete').length, 4);
    assert.ok(progress.includes('  MasterZone: DetectStackDrift refused: Drift detection is not supported on stacks in UPDATE_IN_PROGRESS status.'));
    assert.match(formatDriftReport(summarizeDrift('dcos-prod', 'us-east-1', stacks)), /^ {2}- MasterZone: refused: Drift detection is not supported/m);
  });

  it('a stack that does not exist is an error naming the stack and the region', async () => {
    await assert.rejects(detectDrift(props({ stackName: 'dcos-typo' })), (err: unknown) => {
      assert.ok(err instanceof UserError);
      assert.equal(err.message, 'Stack dcos-typo does not exist in us-east-1. Check --stack-name and --region (or --profile).');
      return true;
    });
    assert.equal(cfn.commandCalls(DetectStackDriftCommand).length, 0);
  });

  it('abandons a call that never answers after its bound, naming the call', async () => {
    cfn.on(DescribeStackDriftDetectionStatusCommand).callsFake(() => new Promise(() => {}));
    const started = Date.now();
    await assert.rejects(detectDrift(props({ callTimeoutMs: 50 })), (err: unknown) => {
      assert.ok(err instanceof UserError);
      assert.equal(err.message, 'DescribeStackDriftDetectionStatus (stack dcos-prod) got no answer within 0 s from CloudFormation in us-east-1. Check the network (and --region), then run drift again.');
      return true;
    });
    assert.ok(Date.now() - started < 2000);
  });

  it('any other AWS error is one line naming the call and the stack', async () => {
    cfn.on(DescribeStackResourceDriftsCommand, { StackName: NESTED.Network }).rejects(
      Object.assign(new Error('An internal error occurred.\nRequest ID: 0f1e2d3c'), { name: 'InternalFailure', $metadata: { httpStatusCode: 500 } }),
    );
    await assert.rejects(detectDrift(props()), (err: unknown) => {
      assert.ok(err instanceof UserError);
      assert.equal(err.message, 'DescribeStackResourceDrifts (stack dcos-prod/Network) failed: InternalFailure: An internal error occurred.');
      return true;
    });
  });
});
