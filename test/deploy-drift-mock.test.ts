/**
 * Deploy and diff around drift, which moto cannot show (it implements neither drift detection nor drift-aware
 * change sets), with aws-sdk-client-mock answering as CloudFormation does: DetectStackDrift and
 * DescribeStackResourceDrifts with the API reference's field names and JSON-text values, change sets described
 * with IncludePropertyValues (Path `/Properties/...`, BeforeValue, AfterValue, AttributeChangeType), and
 * drift-aware ones (DeploymentMode REVERT_DRIFT, ResourceDriftStatus, Target.Drift, BeforeValueFrom,
 * ResourceDriftIgnoredAttributes) as the User Guide's "Using drift-aware change sets" and the API reference
 * describe them.
 */
import {
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DescribeChangeSetCommand,
  DescribeStackDriftDetectionStatusCommand,
  DescribeStackEventsCommand,
  DescribeStackResourceDriftsCommand,
  DescribeStacksCommand,
  DetectStackDriftCommand,
  ExecuteChangeSetCommand,
  GetStackPolicyCommand,
  GetTemplateCommand,
  ListChangeSetsCommand,
  ListStackResourcesCommand,
  SetStackPolicyCommand,
  type Change,
  type DescribeChangeSetOutput,
  type Stack,
  type StackResourceDrift,
} from '@aws-sdk/client-cloudformation';
import type { AwsStub } from 'aws-sdk-client-mock';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import type { AwsClients } from '../lib/deploy/aws.js';
import { deploy, type DeployProps } from '../lib/deploy/deploy.js';
import { diff } from '../lib/deploy/diff.js';
import { stackPolicyFor } from '../lib/deploy/stack-policy.js';
import { loadTemplates, type TemplateSet } from '../lib/deploy/templates.js';
import { UserError } from '../lib/errors.js';
import { ACCOUNT, deployedStack, LOGS_CS, LOGS_ID, mockedClients, NETWORK_CS, NETWORK_ID, ROOT_CS, STACK_ID, VPC_REPLACEMENT } from './helpers/aws-mock.js';
import { writeCluster } from './moto-fixtures.js';

const AT = new Date('2026-03-02T10:15:00.000Z');
const SG = 'sg-0a1b2c3d4e5f60718';
const TEMPLATE_RULE = { CidrIp: '10.0.0.0/8', FromPort: 443, IpProtocol: 'tcp', ToPort: 443 };
const SSH_FROM_ANYWHERE = { CidrIp: '0.0.0.0/0', FromPort: 22, IpProtocol: 'tcp', ToPort: 22 };

const updated: Stack = deployedStack('UPDATE_COMPLETE');

function drift(stackId: string, logicalId: string, type: string, status: StackResourceDrift['StackResourceDriftStatus'], extra: Partial<StackResourceDrift> = {}): StackResourceDrift {
  return { StackId: stackId, LogicalResourceId: logicalId, PhysicalResourceId: `${logicalId.toLowerCase()}-1`, ResourceType: type, ExpectedProperties: '{}', PropertyDifferences: [], StackResourceDriftStatus: status, Timestamp: AT, ...extra };
}

/** After an incident: SSH opened to the internet on the admin group, a VPC tag renamed, the log retention raised, a bucket deleted. */
const INCIDENT: Record<string, StackResourceDrift[]> = {
  [STACK_ID]: [
    drift(STACK_ID, 'Network', 'AWS::CloudFormation::Stack', 'IN_SYNC', { PhysicalResourceId: NETWORK_ID }),
    drift(STACK_ID, 'Logs', 'AWS::CloudFormation::Stack', 'IN_SYNC', { PhysicalResourceId: LOGS_ID }),
  ],
  [NETWORK_ID]: [
    drift(NETWORK_ID, 'AdminSecurityGroup', 'AWS::EC2::SecurityGroup', 'MODIFIED', {
      PhysicalResourceId: SG,
      ExpectedProperties: JSON.stringify({ GroupDescription: 'admin access', SecurityGroupIngress: [TEMPLATE_RULE], VpcId: 'vpc-0abc' }),
      PropertyDifferences: [{ PropertyPath: '/SecurityGroupIngress/1', ExpectedValue: 'null', ActualValue: JSON.stringify(SSH_FROM_ANYWHERE), DifferenceType: 'ADD' }],
    }),
    drift(NETWORK_ID, 'Vpc', 'AWS::EC2::VPC', 'MODIFIED', {
      PhysicalResourceId: 'vpc-0abc',
      PropertyDifferences: [{ PropertyPath: '/Tags/0/Value', ExpectedValue: 'prod', ActualValue: 'prod-renamed', DifferenceType: 'NOT_EQUAL' }],
    }),
  ],
  [LOGS_ID]: [
    drift(LOGS_ID, 'ClusterLogs', 'AWS::Logs::LogGroup', 'MODIFIED', {
      PhysicalResourceId: '/dcos/prod',
      PropertyDifferences: [{ PropertyPath: '/RetentionInDays', ExpectedValue: '30', ActualValue: '365', DifferenceType: 'NOT_EQUAL' }],
    }),
    drift(LOGS_ID, 'ExhibitorBucket', 'AWS::S3::Bucket', 'DELETED', { PhysicalResourceId: 'prod-logs-exhibitorbucket-1a2b3c' }),
  ],
};

const networkStackChange: Change = {
  Type: 'Resource',
  ResourceChange: {
    Action: 'Modify',
    LogicalResourceId: 'Network',
    PhysicalResourceId: NETWORK_ID,
    ResourceType: 'AWS::CloudFormation::Stack',
    Replacement: 'False',
    Scope: ['Properties'],
    ChangeSetId: NETWORK_CS,
    Details: [{ Target: { Attribute: 'Properties', Name: 'TemplateURL', RequiresRecreation: 'Never', Path: '/Properties/TemplateURL', AttributeChangeType: 'Modify' }, Evaluation: 'Static', ChangeSource: 'DirectModification' }],
  },
};

const logsStackChange: Change = {
  Type: 'Resource',
  ResourceChange: { ...networkStackChange.ResourceChange, LogicalResourceId: 'Logs', PhysicalResourceId: LOGS_ID, ChangeSetId: LOGS_CS },
};

/** The template narrows the admin rule to 10.1.0.0/16: CloudFormation rewrites the group's whole rule list. */
const ingressChange: Change = {
  Type: 'Resource',
  ResourceChange: {
    Action: 'Modify',
    LogicalResourceId: 'AdminSecurityGroup',
    PhysicalResourceId: SG,
    ResourceType: 'AWS::EC2::SecurityGroup',
    Replacement: 'False',
    Scope: ['Properties'],
    Details: [
      {
        Target: {
          Attribute: 'Properties',
          Name: 'SecurityGroupIngress',
          RequiresRecreation: 'Never',
          Path: '/Properties/SecurityGroupIngress',
          BeforeValue: JSON.stringify([TEMPLATE_RULE]),
          AfterValue: JSON.stringify([{ ...TEMPLATE_RULE, CidrIp: '10.1.0.0/16' }]),
          AttributeChangeType: 'Modify',
        },
        Evaluation: 'Static',
        ChangeSource: 'DirectModification',
      },
    ],
  },
};

/** A change to the VPC's DNS settings only; its drifted tag is another property. */
const vpcDnsChange: Change = {
  Type: 'Resource',
  ResourceChange: {
    Action: 'Modify',
    LogicalResourceId: 'Vpc',
    PhysicalResourceId: 'vpc-0abc',
    ResourceType: 'AWS::EC2::VPC',
    Replacement: 'False',
    Scope: ['Properties'],
    Details: [
      {
        Target: { Attribute: 'Properties', Name: 'EnableDnsHostnames', RequiresRecreation: 'Never', Path: '/Properties/EnableDnsHostnames', AfterValue: 'true', AttributeChangeType: 'Add' },
        Evaluation: 'Static',
        ChangeSource: 'DirectModification',
      },
    ],
  },
};

/** The subnet's template changed (a tag), but the subnet was deleted by hand. */
const subnetChange: Change = {
  Type: 'Resource',
  ResourceChange: {
    Action: 'Modify',
    LogicalResourceId: 'PrivateSubnet',
    PhysicalResourceId: 'subnet-0abc',
    ResourceType: 'AWS::EC2::Subnet',
    Replacement: 'False',
    Scope: ['Tags'],
    Details: [{ Target: { Attribute: 'Tags', RequiresRecreation: 'Never', Path: '/Tags', AttributeChangeType: 'Modify' }, Evaluation: 'Static', ChangeSource: 'DirectModification' }],
  },
};

describe('deploy and diff around drift (aws-sdk-client-mock, shaped like CloudFormation)', () => {
  let out: string;
  let templates: TemplateSet;
  let cfn: AwsStub<any, any, any>;
  let clients: AwsClients;
  let lines: string[];

  before(() => {
    process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
    out = writeCluster();
    templates = loadTemplates(out);
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  beforeEach(() => {
    ({ clients, cfn } = mockedClients(ACCOUNT));
    lines = [];
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [updated] });
    // The deployed root template is an older one: every run makes a change set.
    cfn.on(GetTemplateCommand).resolves({ TemplateBody: templates.root.body.replace('Fixture root', 'Older fixture root') });
    cfn.on(CreateChangeSetCommand).resolves({ Id: ROOT_CS, StackId: STACK_ID });
    cfn.on(DeleteChangeSetCommand).resolves({});
    cfn.on(ListChangeSetsCommand).resolves({ Summaries: [] });
    const policies = new Map<string, string>([
      [STACK_ID, JSON.stringify(stackPolicyFor(templates.root.template))],
      [NETWORK_ID, JSON.stringify(stackPolicyFor(templates.nested['Network']!.template))],
      [LOGS_ID, JSON.stringify(stackPolicyFor(templates.nested['Logs']!.template))],
    ]);
    cfn.on(GetStackPolicyCommand).callsFake((input: { StackName: string }) => ({ StackPolicyBody: policies.get(input.StackName) }));
    cfn.on(SetStackPolicyCommand).resolves({});
    cfn.on(ListStackResourcesCommand).callsFake((input: { StackName: string }) => ({
      StackResourceSummaries:
        input.StackName === STACK_ID
          ? [
              { LogicalResourceId: 'Network', PhysicalResourceId: NETWORK_ID, ResourceType: 'AWS::CloudFormation::Stack', ResourceStatus: 'UPDATE_COMPLETE', LastUpdatedTimestamp: AT },
              { LogicalResourceId: 'Logs', PhysicalResourceId: LOGS_ID, ResourceType: 'AWS::CloudFormation::Stack', ResourceStatus: 'UPDATE_COMPLETE', LastUpdatedTimestamp: AT },
            ]
          : [],
    }));
    detections(INCIDENT);
  });

  /** Drift detection that completes on the second poll, with `drifts` per stack ARN. */
  function detections(drifts: Record<string, StackResourceDrift[]>) {
    cfn.on(DetectStackDriftCommand).callsFake((input: { StackName: string }) => ({ StackDriftDetectionId: `detection-${input.StackName.split('/')[1]}` }));
    const polled = new Map<string, number>();
    cfn.on(DescribeStackDriftDetectionStatusCommand).callsFake((input: { StackDriftDetectionId: string }) => {
      const n = (polled.get(input.StackDriftDetectionId) ?? 0) + 1;
      polled.set(input.StackDriftDetectionId, n);
      const stackId = [STACK_ID, NETWORK_ID, LOGS_ID].find((id) => input.StackDriftDetectionId === `detection-${id.split('/')[1]}`)!;
      if (n === 1) return { StackId: stackId, StackDriftDetectionId: input.StackDriftDetectionId, DetectionStatus: 'DETECTION_IN_PROGRESS', Timestamp: AT };
      const drifted = drifts[stackId]!.filter((d) => d.StackResourceDriftStatus === 'MODIFIED' || d.StackResourceDriftStatus === 'DELETED').length;
      return {
        StackId: stackId,
        StackDriftDetectionId: input.StackDriftDetectionId,
        StackDriftStatus: drifted ? 'DRIFTED' : 'IN_SYNC',
        DetectionStatus: 'DETECTION_COMPLETE',
        DriftedStackResourceCount: drifted,
        Timestamp: AT,
      };
    });
    cfn.on(DescribeStackResourceDriftsCommand).callsFake((input: { StackName: string }) => ({ StackResourceDrifts: drifts[input.StackName] ?? [] }));
  }

  /** The root change set points at Network's, which holds `network`, and at Logs' when it has `logs`; `extra` goes on every description. */
  function changeSets(network: Change[], extra: Partial<DescribeChangeSetOutput> = {}, logs: Change[] = []) {
    cfn.on(DescribeChangeSetCommand).callsFake((input: { ChangeSetName: string }) => {
      const ready = { Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE', ...extra };
      if (input.ChangeSetName === NETWORK_CS) return { ChangeSetId: NETWORK_CS, StackId: NETWORK_ID, Changes: network, ...ready };
      if (input.ChangeSetName === LOGS_CS) return { ChangeSetId: LOGS_CS, StackId: LOGS_ID, Changes: logs, ...ready };
      return { ChangeSetId: ROOT_CS, ChangeSetName: 'dcos-cfn-1', StackId: STACK_ID, Changes: logs.length ? [networkStackChange, logsStackChange] : [networkStackChange], ...ready };
    });
  }

  const props = (extra: Partial<DeployProps> = {}): DeployProps => ({
    clients,
    templates,
    stackName: 'prod',
    parameters: {},
    confirm: async () => true,
    print: (line) => lines.push(line),
    pollMs: 1,
    eventPollMs: 1,
    execute: false,
    ...extra,
  });

  /** The preview's drift lines (after "Drift:"), as printed. */
  const driftLines = () => lines.join('\n').split('\n').filter((l) => /^ {2}[!*] (would|may|drift kept)/.test(l));

  it('says which drifted properties the deploy would overwrite and which it keeps, security-relevant first', async () => {
    changeSets([ingressChange, vpcDnsChange]);
    const result = await deploy(props());
    assert.equal(result.kind, 'not-executed');
    const text = lines.join('\n');
    // Drift detection ran on the root and on each nested stack, and read every result.
    assert.deepEqual(cfn.commandCalls(DetectStackDriftCommand).map((c) => c.args[0].input.StackName), [STACK_ID, NETWORK_ID, LOGS_ID]);
    assert.deepEqual(cfn.commandCalls(DescribeStackResourceDriftsCommand).map((c) => c.args[0].input.StackName).sort(), [LOGS_ID, NETWORK_ID, STACK_ID].sort());
    assert.match(text, /^Detecting drift on prod and its 2 nested stack\(s\) \(Network, Logs\) \.\.\.$/m);
    // The change set was described with property values, every time.
    assert.ok(cfn.commandCalls(DescribeChangeSetCommand).every((c) => c.args[0].input.IncludePropertyValues === true));
    assert.match(text, /^Drift: 4 resource\(s\) changed outside CloudFormation, 1 security-relevant \(drift detection on 3 stack\(s\)\)\.$/m);
    assert.match(text, /A change set compares the new templates with the deployed ones, not with the live resources/);
    assert.deepEqual(driftLines(), [
      '  ! would overwrite drift: Network/AdminSecurityGroup /SecurityGroupIngress/1 [security: security-group rules]: live {"CidrIp":"0.0.0.0/0","FromPort":22,"IpProtocol":"tcp","ToPort":22} → removed (not in the template) (this deploy sets this property)',
      '  * drift kept: Logs/ClusterLogs /RetentionInDays: live 365, template 30 (this deploy does not change its stack)',
      '  * drift kept: Logs/ExhibitorBucket (AWS::S3::Bucket) was deleted outside CloudFormation; this deploy does not change its stack',
      '  * drift kept: Network/Vpc /Tags/0/Value: live prod-renamed, template prod (this deploy changes EnableDnsHostnames of the resource, not this property)',
    ]);
    assert.match(text, /^ {2}This deploy would overwrite 1, keeps 3 of 4 drifted properties\.$/m);
    assert.match(text, /^ {2}Security-relevant drift would be overwritten: if it was an incident fix, put it in the cluster definition first\.$/m);
    // The drift section comes after the change tree and before the change set is left for review.
    assert.ok(text.indexOf('Security-relevant changes') < text.indexOf('Drift: 4') && text.indexOf('Drift: 4') < text.indexOf('left for review'));
  });

  it('a drifted property of a changed list element, a deleted resource the deploy updates, and no property details', async () => {
    const partial: Change = {
      Type: 'Resource',
      ResourceChange: {
        ...ingressChange.ResourceChange,
        Details: [{ Target: { Attribute: 'Properties', Name: 'SecurityGroupIngress', RequiresRecreation: 'Never', Path: '/Properties/SecurityGroupIngress/0/CidrIp', BeforeValue: '10.0.0.0/8', AfterValue: '10.1.0.0/16', AttributeChangeType: 'Modify' }, Evaluation: 'Static', ChangeSource: 'DirectModification' }],
      },
    };
    const noDetails: Change = { Type: 'Resource', ResourceChange: { ...vpcDnsChange.ResourceChange, Details: [] } };
    detections({ ...INCIDENT, [NETWORK_ID]: [...INCIDENT[NETWORK_ID]!, drift(NETWORK_ID, 'PrivateSubnet', 'AWS::EC2::Subnet', 'DELETED', { PhysicalResourceId: 'subnet-0abc' })] });
    changeSets([partial, subnetChange, noDetails]);
    await deploy(props());
    assert.deepEqual(driftLines(), [
      '  ! would fail on drift: Network/PrivateSubnet (AWS::EC2::Subnet) [security: public IP] was deleted outside CloudFormation; this deploy updates it, and CloudFormation cannot update what no longer exists: the update fails and rolls back (--revert-drift creates it again)',
      '  ! may overwrite drift: Network/AdminSecurityGroup /SecurityGroupIngress/1 [security: security-group rules]: live {"CidrIp":"0.0.0.0/0","FromPort":22,"IpProtocol":"tcp","ToPort":22}, template null (this deploy changes SecurityGroupIngress; whether it rewrites the drifted part depends on the resource type)',
      '  * may overwrite drift: Network/Vpc /Tags/0/Value: live prod-renamed, template prod (this deploy updates the resource, and CloudFormation gave no property details)',
      '  * drift kept: Logs/ClusterLogs /RetentionInDays: live 365, template 30 (this deploy does not change its stack)',
      '  * drift kept: Logs/ExhibitorBucket (AWS::S3::Bucket) was deleted outside CloudFormation; this deploy does not change its stack',
    ]);
    assert.match(lines.join('\n'), /This deploy would fail on 1, would overwrite 0, may overwrite 2, keeps 2 of 5 drifted properties\./);
  });

  it('an empty change set keeps all drift, and says so before "No changes"', async () => {
    cfn.on(DescribeChangeSetCommand).resolves({ ChangeSetId: ROOT_CS, StackId: STACK_ID, Status: 'FAILED', StatusReason: "The submitted information didn't contain changes. Submit different information to create a change set." });
    const result = await deploy(props({ execute: true }));
    assert.equal(result.kind, 'no-op');
    assert.equal(driftLines().length, 4);
    assert.ok(driftLines().every((l) => /drift kept: /.test(l)), driftLines().join('\n'));
    assert.match(lines.join('\n'), /Security-relevant drift is kept: undo it where it was made, or deploy with --revert-drift and check with 'npm run drift' \(README, Drift\)\./);
  });

  it('a drift check that cannot run (permission refused) is one note, and the deploy goes on', async () => {
    cfn.on(DetectStackDriftCommand).rejects(Object.assign(new Error('User: arn:aws:iam::111122223333:user/ci is not authorized to perform: cloudformation:DetectStackDrift'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }));
    changeSets([ingressChange]);
    cfn.on(ExecuteChangeSetCommand).resolves({});
    cfn.on(DescribeStackEventsCommand).resolves({ StackEvents: [] });
    const result = await deploy(props({ execute: true }));
    assert.equal(result.kind, 'deployed');
    const text = lines.join('\n');
    assert.match(text, /^Drift: could not be checked: DetectStackDrift \(stack prod\) failed: AccessDenied: User: arn:aws:iam::111122223333:user\/ci is not authorized to perform: cloudformation:DetectStackDrift$/m);
    assert.match(text, /^ {2}The deploy goes on without knowing which drifted properties it would overwrite \(--no-drift-check skips this step\)\.$/m);
    assert.equal(cfn.commandCalls(ExecuteChangeSetCommand).length, 1);
  });

  it('lists what drift detection could not check in time, and does not wait past the bound', async () => {
    cfn.on(DescribeStackDriftDetectionStatusCommand).callsFake((input: { StackDriftDetectionId: string }) => ({ StackDriftDetectionId: input.StackDriftDetectionId, DetectionStatus: 'DETECTION_IN_PROGRESS', Timestamp: AT }));
    changeSets([ingressChange]);
    await deploy(props({ driftTimeoutMs: 30 }));
    const text = lines.join('\n');
    assert.match(text, /^Drift: none found among what could be checked \(drift detection on 3 stack\(s\)\)\.$/m);
    assert.match(text, /^ {2}Not checked this time: Root: timed-out: still running after 0 s \(CloudFormation finishes it on its own; run drift again later, or raise --drift-timeout\); Network: timed-out: /m);
  });

  it('--no-drift-check makes no drift call and says what that means', async () => {
    changeSets([ingressChange]);
    await deploy(props({ driftCheck: false }));
    assert.equal(cfn.commandCalls(DetectStackDriftCommand).length, 0);
    assert.match(lines.join('\n'), /^Drift: not checked \(--no-drift-check\)\. A deploy keeps drift wherever it does not change a property and overwrites it where it does; 'npm run drift' shows what has drifted\.$/m);
  });

  it('diff shows the same drift preview and deletes its change set', async () => {
    changeSets([ingressChange, vpcDnsChange]);
    const result = await diff(props());
    assert.equal(result.kind, 'changes');
    assert.ok(result.kind === 'changes');
    assert.deepEqual(
      result.drift.items.map((i) => [i.resource, i.property, i.fate]),
      [
        ['Network/AdminSecurityGroup', '/SecurityGroupIngress/1', 'overwrite'],
        ['Logs/ClusterLogs', '/RetentionInDays', 'kept'],
        ['Logs/ExhibitorBucket', undefined, 'kept'],
        ['Network/Vpc', '/Tags/0/Value', 'kept'],
      ],
    );
    assert.equal(cfn.commandCalls(DeleteChangeSetCommand).length, 1);
    assert.equal(cfn.commandCalls(ExecuteChangeSetCommand).length, 0);
  });

  it('a new stack is created without a drift check', async () => {
    cfn.on(DescribeStacksCommand).rejects(Object.assign(new Error('Stack with id prod does not exist'), { name: 'ValidationError', $metadata: { httpStatusCode: 400 } }));
    cfn.on(DescribeChangeSetCommand).resolves({ ChangeSetId: ROOT_CS, StackId: STACK_ID, Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE', Changes: [] });
    await deploy(props({ parameters: { ClusterName: 'prod' }, revertDrift: true }));
    assert.equal(cfn.commandCalls(DetectStackDriftCommand).length, 0);
    assert.equal(cfn.commandCalls(CreateChangeSetCommand)[0]!.args[0].input.DeploymentMode, undefined);
    assert.match(lines.join('\n'), /^--revert-drift: stack prod does not exist yet, so it has no drift; it is created with a normal change set\.$/m);
    assert.doesNotMatch(lines.join('\n'), /^Drift/m);
  });

  describe('--revert-drift (a drift-aware change set)', () => {
    /** What a drift-aware change set reports for the hand-made SSH rule: removed, its drift and where the before value came from. */
    const revertSsh: Change = {
      Type: 'Resource',
      ResourceChange: {
        Action: 'Modify',
        LogicalResourceId: 'AdminSecurityGroup',
        PhysicalResourceId: SG,
        ResourceType: 'AWS::EC2::SecurityGroup',
        Replacement: 'False',
        Scope: ['Properties'],
        ResourceDriftStatus: 'MODIFIED',
        Details: [
          {
            Target: {
              Attribute: 'Properties',
              Name: 'SecurityGroupIngress',
              RequiresRecreation: 'Never',
              Path: '/Properties/SecurityGroupIngress/1',
              BeforeValue: JSON.stringify(SSH_FROM_ANYWHERE),
              BeforeValueFrom: 'ACTUAL_STATE',
              AttributeChangeType: 'Remove',
              Drift: { ActualValue: JSON.stringify(SSH_FROM_ANYWHERE), DriftDetectionTimestamp: AT },
            },
            Evaluation: 'Static',
            ChangeSource: 'DirectModification',
          },
        ],
        BeforeContext: JSON.stringify({ Properties: { GroupDescription: 'admin access', SecurityGroupIngress: [TEMPLATE_RULE, SSH_FROM_ANYWHERE] } }),
        AfterContext: JSON.stringify({ Properties: { GroupDescription: 'admin access', SecurityGroupIngress: [TEMPLATE_RULE] } }),
      },
    };
    /** The deleted bucket, created again. */
    const recreateBucket: Change = {
      Type: 'Resource',
      ResourceChange: { Action: 'Add', LogicalResourceId: 'ExhibitorBucket', ResourceType: 'AWS::S3::Bucket', ResourceDriftStatus: 'DELETED', Scope: [], Details: [] },
    };
    const revert = (extra: Partial<DeployProps> = {}) => props({ revertDrift: true, ...extra });
    /** The new template takes the VPC's live tag: only its drift status is reset. */
    const syncVpc: Change = {
      Type: 'Resource',
      ResourceChange: {
        Action: 'SyncWithActual',
        LogicalResourceId: 'Vpc',
        PhysicalResourceId: 'vpc-0abc',
        ResourceType: 'AWS::EC2::VPC',
        ResourceDriftStatus: 'MODIFIED',
        Scope: ['Tags'],
        Details: [
          {
            Target: {
              Attribute: 'Tags',
              RequiresRecreation: 'Never',
              Path: '/Properties/Tags/0/Value',
              BeforeValue: 'prod-renamed',
              AfterValue: 'prod-renamed',
              BeforeValueFrom: 'ACTUAL_STATE',
              AfterValueFrom: 'TEMPLATE',
              AttributeChangeType: 'SyncWithActual',
              Drift: { PreviousValue: 'prod', ActualValue: 'prod-renamed', DriftDetectionTimestamp: AT },
            },
            Evaluation: 'Static',
            ChangeSource: 'DirectModification',
          },
        ],
      },
    };

    it('asks for REVERT_DRIFT with nested stacks even when the templates are unchanged, and shows what it reverts', async () => {
      changeSets([revertSsh, syncVpc], { DeploymentMode: 'REVERT_DRIFT', StackDriftStatus: 'DRIFTED' }, [recreateBucket]);
      const result = await deploy(revert());
      assert.equal(result.kind, 'not-executed');
      const input = cfn.commandCalls(CreateChangeSetCommand)[0]!.args[0].input;
      assert.equal(input.DeploymentMode, 'REVERT_DRIFT');
      assert.equal(input.IncludeNestedStacks, true);
      assert.equal(cfn.commandCalls(GetTemplateCommand).length, 0, 'the no-op shortcut compares templates only: skipped');
      const text = lines.join('\n');
      assert.match(text, /^Change set dcos-cfn-\S+ \(updates stack prod, drift-aware\):$/m);
      assert.match(text, /^ {6}= Vpc +AWS::EC2::VPC/m);
      assert.match(text, /This is a drift-aware change set \(--revert-drift\)/);
      assert.deepEqual(driftLines(), [
        '  ! would overwrite drift: Network/AdminSecurityGroup /SecurityGroupIngress/1 [security: security-group rules]: live {"CidrIp":"0.0.0.0/0","FromPort":22,"IpProtocol":"tcp","ToPort":22} → removed (not in the template) (the drift-aware change set sets the template value)',
        '  * would overwrite drift: Logs/ExhibitorBucket (AWS::S3::Bucket) was deleted outside CloudFormation; this deploy creates it again from the template',
        '  * drift kept: Logs/ClusterLogs /RetentionInDays: live 365, template 30 (the drift-aware change set leaves it: CloudFormation does not revert AWS-managed, write-only or immutable properties, nor resource types without the three-way comparison)',
        '  * drift kept: Network/Vpc /Tags/0/Value: live prod-renamed, template prod-renamed (the new template has the live value: CloudFormation resets the drift status and changes nothing)',
      ]);
    });

    it('names a property CloudFormation will not revert, with its reason, and a stack the change set leaves out', async () => {
      const ignored: Change = {
        Type: 'Resource',
        ResourceChange: { ...revertSsh.ResourceChange, ResourceDriftIgnoredAttributes: [{ Path: '/Properties/SecurityGroupIngress/1', Reason: 'MANAGED_BY_AWS' }], Details: [] },
      };
      changeSets([ignored], { DeploymentMode: 'REVERT_DRIFT' });
      await deploy(revert());
      assert.match(driftLines()[0]!, /^ {2}! drift kept: Network\/AdminSecurityGroup \/SecurityGroupIngress\/1 \[security: security-group rules\]: .* \(CloudFormation does not revert this property \(MANAGED_BY_AWS\)\)$/);
      // The Logs stack is in no change set of the tree: its drift stays, and the preview says why.
      assert.ok(driftLines().includes('  * drift kept: Logs/ClusterLogs /RetentionInDays: live 365, template 30 (the drift-aware change set does not include its stack)'), driftLines().join('\n'));
    });

    it('without drift detection, still lists the drift the change set reports', async () => {
      changeSets([revertSsh], { DeploymentMode: 'REVERT_DRIFT' });
      await deploy(revert({ driftCheck: false }));
      assert.equal(cfn.commandCalls(DetectStackDriftCommand).length, 0);
      assert.match(lines.join('\n'), /^Drift: not detected before the deploy \(--no-drift-check\); the drift-aware change set reports what it reverts\.$/m);
      assert.equal(driftLines().length, 1);
      assert.match(driftLines()[0]!, /would overwrite drift: Network\/AdminSecurityGroup \/SecurityGroupIngress\/1/);
    });

    it('refuses, and deletes, a change set CloudFormation did not make drift-aware for a nested stack', async () => {
      cfn.on(DescribeChangeSetCommand).callsFake((input: { ChangeSetName: string }) =>
        input.ChangeSetName === NETWORK_CS
          ? { ChangeSetId: NETWORK_CS, StackId: NETWORK_ID, Status: 'CREATE_COMPLETE', Changes: [ingressChange] }
          : { ChangeSetId: ROOT_CS, StackId: STACK_ID, Status: 'CREATE_COMPLETE', DeploymentMode: 'REVERT_DRIFT', Changes: [networkStackChange] },
      );
      await assert.rejects(deploy(revert({ execute: true })), (err: unknown) => {
        assert.ok(err instanceof UserError);
        assert.match(err.message, /^CloudFormation made a change set that is not drift-aware \(no DeploymentMode REVERT_DRIFT\) for Network \(CloudFormation documents drift-aware change sets for a stack, and does not say that nested stacks follow\)\./);
        assert.match(err.message, /Executed, it would keep the drift there that --revert-drift is meant to revert, so it is not executed\.\nDeleted change set dcos-cfn-\S+; the stack was not changed\.$/);
        return true;
      });
      assert.equal(cfn.commandCalls(DeleteChangeSetCommand).length, 1);
      assert.equal(cfn.commandCalls(ExecuteChangeSetCommand).length, 0);
    });

    it('a refusal of the drift-aware mode is one message, and nothing is created', async () => {
      cfn.on(CreateChangeSetCommand).rejects(
        Object.assign(new Error('DeploymentMode REVERT_DRIFT is not supported for this stack'), { name: 'ValidationError', $metadata: { httpStatusCode: 400 } }),
      );
      await assert.rejects(deploy(revert()), /^UserError: CloudFormation refused a drift-aware change set \(--revert-drift\) for stack prod: DeploymentMode REVERT_DRIFT is not supported for this stack\nNothing was created or changed\./);
      assert.equal(cfn.commandCalls(ExecuteChangeSetCommand).length, 0);
    });

    it('the data gate still refuses a drift-aware change set that would replace a stateful resource', async () => {
      // VPC_REPLACEMENT as a drift-aware change set describes it (IncludePropertyValues, ResourceDriftStatus).
      const vpcReplacement: Change = {
        ...VPC_REPLACEMENT,
        ResourceChange: {
          ...VPC_REPLACEMENT.ResourceChange,
          ResourceDriftStatus: 'IN_SYNC',
          Details: [{ Target: { Attribute: 'Properties', Name: 'CidrBlock', RequiresRecreation: 'Always', Path: '/Properties/CidrBlock', BeforeValue: '10.20.0.0/16', AfterValue: '10.30.0.0/16', BeforeValueFrom: 'ACTUAL_STATE', AttributeChangeType: 'Modify' }, Evaluation: 'Static', ChangeSource: 'DirectModification' }],
        },
      };
      changeSets([vpcReplacement, revertSsh], { DeploymentMode: 'REVERT_DRIFT' });
      await assert.rejects(deploy(revert({ execute: true })), /Refusing to execute change set dcos-cfn-\S+: it would remove or replace stateful resources[\s\S]*Vpc \(AWS::EC2::VPC, the VPC\) would be replaced: CidrBlock requires replacement/);
      assert.equal(cfn.commandCalls(ExecuteChangeSetCommand).length, 0);
      assert.equal(cfn.commandCalls(DeleteChangeSetCommand).length, 1);
    });
  });
});
