/**
 * The data gate on masters: a change set that would stop and start a master (a property its resource schema says
 * needs it) is refused, naming the property and the way out; one that would touch several masters is refused even
 * when allowed. Change sets are shaped like CloudFormation's (Details with Target, RequiresRecreation, CausingEntity),
 * which moto does not produce; the end-to-end case runs deploy on the real synthesized templates with
 * aws-sdk-client-mock answering.
 */
import {
  CreateChangeSetCommand,
  DeleteChangeSetCommand,
  DescribeChangeSetCommand,
  DescribeStacksCommand,
  ExecuteChangeSetCommand,
  GetTemplateCommand,
  ListChangeSetsCommand,
  type Change,
  type ResourceChange,
} from '@aws-sdk/client-cloudformation';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StackChanges } from '../lib/deploy/change-set.js';
import { deploy } from '../lib/deploy/deploy.js';
import { checkDataGate, findDataRisks, type DataRisk } from '../lib/deploy/gate.js';
import { INSTANCE_INTERRUPTION_PROPERTIES, INSTANCE_REPLACEMENT_PROPERTIES } from '../lib/deploy/instance-updates.js';
import { MASTER_KIND } from '../lib/deploy/stateful.js';
import { loadTemplates } from '../lib/deploy/templates.js';
import { UserError } from '../lib/errors.js';
import { compile, writeOutput } from '../lib/synth.js';
import haCluster from '../stacks/clusters/ha.js';
import { BASE_URL, changeSetArn, mockedClients, ROOT_CS, STACK_ID, stackArn } from './helpers/aws-mock.js';

/** A Modify of an instance as CloudFormation's change set shows it, changing `properties`. */
function instanceModify(id: string, properties: readonly string[], replacement: ResourceChange['Replacement'] = 'False'): ResourceChange {
  return {
    Action: 'Modify',
    LogicalResourceId: id,
    PhysicalResourceId: `i-0${id.toLowerCase()}`,
    ResourceType: 'AWS::EC2::Instance',
    Replacement: replacement,
    Scope: ['Properties'],
    Details: properties.map((name) => ({
      Target: { Attribute: 'Properties', Name: name, RequiresRecreation: INSTANCE_REPLACEMENT_PROPERTIES.includes(name) ? 'Always' : 'Never' },
      Evaluation: 'Static',
      ChangeSource: 'DirectModification',
    })),
  };
}

const tree = (changes: ResourceChange[]): StackChanges => ({
  path: 'prod',
  logicalId: 'prod',
  changeSetId: 'root',
  changes: [],
  children: [{ path: 'prod/MasterZone', logicalId: 'MasterZone', changeSetId: 'zone', changes, children: [] }],
});

/** Stateful resources by stack path, as deploy reads them from the templates. */
const stateful = (path: string) =>
  new Map(path === 'prod/MasterZone' ? [['Master1', MASTER_KIND], ['Master2', MASTER_KIND], ['Master3', MASTER_KIND], ['Master1State', 'an EBS volume']] : []);

describe('data gate: masters', () => {
  it("keeps the schema's table of instance properties: createOnly replaces, conditionalCreateOnly stops and starts", function () {
    const found = spawnSync('python3', ['-c', 'import cfnlint, os; print(os.path.dirname(cfnlint.__file__))'], { encoding: 'utf8' });
    if (found.status !== 0) {
      console.log("      notice: cfn-lint's Python package is not installed; the table is not compared with its schema");
      return this.skip();
    }
    const dir = join(found.stdout.trim(), 'data/schemas/resources');
    const schemas = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as { typeName?: string; createOnlyProperties?: string[]; conditionalCreateOnlyProperties?: string[] })
      .filter((s) => s.typeName === 'AWS::EC2::Instance');
    assert.ok(schemas.length > 0, 'cfn-lint ships the AWS::EC2::Instance schema');
    const names = (pointers: string[] = []) => pointers.map((p) => p.replace('/properties/', '')).sort();
    for (const schema of schemas) {
      assert.deepEqual(names(schema.createOnlyProperties), [...INSTANCE_REPLACEMENT_PROPERTIES].sort());
      assert.deepEqual(names(schema.conditionalCreateOnlyProperties), [...INSTANCE_INTERRUPTION_PROPERTIES].sort());
    }
  });

  it('finds a master that a change would stop and start, naming the property and what caused it', () => {
    const change = instanceModify('Master1', ['UserData', 'Tags']);
    change.Details![0]!.CausingEntity = 'MasterLaunchTemplate';
    assert.deepEqual(findDataRisks(tree([change]), stateful), [
      {
        stack: 'prod/MasterZone',
        logicalId: 'Master1',
        resourceType: 'AWS::EC2::Instance',
        kind: MASTER_KIND,
        action: 'interrupt',
        why: 'UserData changes (from MasterLaunchTemplate), which stops and starts the instance',
      },
    ]);
  });

  it('lets through what updates a master in place (tags, monitoring, termination protection), and changes to other instances', () => {
    const changes = [instanceModify('Master1', ['Tags', 'Monitoring', 'DisableApiTermination', 'Volumes']), instanceModify('AdminInstance', ['UserData', 'InstanceType'])];
    assert.deepEqual(findDataRisks(tree(changes), stateful), []);
  });

  it('counts a master change without property details as one that may stop it (it fails closed)', () => {
    const [risk] = findDataRisks(tree([{ ...instanceModify('Master1', []), Details: [] }]), stateful);
    assert.equal(risk?.action, 'interrupt');
    assert.match(risk!.why, /no property details, so the update may stop and start it/);
  });

  it('counts an update with no Replacement value at all as a possible replacement (it fails closed)', () => {
    const { Replacement: _, ...noReplacement } = instanceModify('Master1State', ['Size']);
    const risks = findDataRisks(tree([{ ...noReplacement, ResourceType: 'AWS::EC2::Volume' }, { ...instanceModify('Master1', ['Tags']), Replacement: undefined }]), stateful);
    assert.deepEqual(risks.map((r) => `${r.logicalId} ${r.action}: ${r.why}`), [
      'Master1State maybe replace: CloudFormation gave no Replacement value for this update, so it may replace it',
      'Master1 maybe replace: CloudFormation gave no Replacement value for this update, so it may replace it',
    ]);
  });

  it('refuses to stop a master, naming the property and the way out, and allows it when named', () => {
    const risks = findDataRisks(tree([instanceModify('Master1', ['InstanceType'])]), stateful);
    assert.throws(
      () => checkDataGate(risks, [], 'dcos-cfn-1'),
      (err: unknown) => {
        assert.ok(err instanceof UserError);
        assert.equal(
          err.message,
          'Refusing to execute change set dcos-cfn-1: it would stop and start a master (DC/OS loses it while it restarts):\n' +
            '  - prod/MasterZone: Master1 (AWS::EC2::Instance, a master instance) would be stopped and started: InstanceType changes, which stops and starts the instance\n' +
            'If that is intended, run again with --allow-replacement Master1 (for a master: when DC/OS can lose it for its restart).',
        );
        return true;
      },
    );
    assert.deepEqual(checkDataGate(risks, ['MasterZone/Master1'], 'dcos-cfn-1'), [], 'allowed, and nothing to loosen in the stack policies');
  });

  it('refuses a change that touches several masters even when each is named: never more than one master per deploy', () => {
    const risks = findDataRisks(tree(['Master1', 'Master2', 'Master3'].map((id) => instanceModify(id, ['UserData']))), stateful);
    assert.equal(risks.length, 3);
    assert.throws(() => checkDataGate(risks, ['Master1', 'Master2', 'Master3'], 'dcos-cfn-2'), (err: unknown) => {
      assert.ok(err instanceof UserError);
      assert.match(err.message, /^Refusing to execute change set dcos-cfn-2: it would touch 3 masters at once, and DC\/OS keeps its ZooKeeper quorum only while they go one at a time:\n/);
      assert.match(err.message, /--allow-replacement cannot allow this\. CloudFormation applies a template change to every master in one update: keep the change out of this deploy/);
      return true;
    });
    // A master replaced and another stopped: also two masters.
    const mixed: DataRisk[] = [...findDataRisks(tree([instanceModify('Master1', ['ImageId'], 'True'), instanceModify('Master2', ['UserData'])]), stateful)];
    assert.deepEqual(mixed.map((r) => r.action), ['replace', 'interrupt']);
    assert.throws(() => checkDataGate(mixed, ['Master1', 'Master2'], 'dcos-cfn-3'), /would touch 2 masters at once/);
  });
});

describe('data gate: nested stacks without a change set, and what holds data', () => {
  const stack = (Action: ResourceChange['Action'], extra: Partial<ResourceChange> = {}): ResourceChange => ({ Action, LogicalResourceId: 'Network', ResourceType: 'AWS::CloudFormation::Stack', ...extra });
  const root = (changes: ResourceChange[], unreadable?: Record<string, string>): StackChanges => ({ path: 'prod', logicalId: 'prod', changeSetId: 'root', changes, children: [], ...(unreadable ? { unreadable } : {}) });

  it('refuses a nested stack updated without a change set of its own, by its logical ID, and lets it through when named without loosening a policy', () => {
    const risks = findDataRisks(root([stack('Modify', { Replacement: 'False' })]), () => new Map());
    assert.deepEqual(risks.map((r) => [r.stack, r.logicalId, r.action, r.why]), [['prod', 'Network', 'unknown', 'what it changes is unknown: CloudFormation gave no change set for it']]);
    assert.throws(
      () => checkDataGate(risks, [], 'dcos-cfn-1'),
      (err: unknown) => {
        assert.ok(err instanceof UserError);
        assert.match(err.message, /^Refusing to execute change set dcos-cfn-1: it would remove or replace stateful resources \(data may be lost\):\n/);
        assert.match(err.message, /^ {2}- prod: Network \(AWS::CloudFormation::Stack, a nested stack, with whatever stateful resources are in it\) would be updated, possibly removing or replacing what is in it: what it changes is unknown: CloudFormation gave no change set for it$/m);
        assert.match(err.message, /^If that is intended, run again with --allow-replacement Network\.\nWhat happens inside Network is not known: check its template in out\/ against the deployed one/m);
        return true;
      },
    );
    assert.deepEqual(checkDataGate(risks, ['Network'], 'dcos-cfn-1'), [], 'allowed, and no stack policy is loosened for a whole stack');
  });

  it('says why when the nested change set could not be read, and counts a deleted nested stack as a removal', () => {
    const unreadable = findDataRisks(root([stack('Modify', { ChangeSetId: 'arn:cs' })], { Network: 'reading its change set arn:cs failed: Access denied' }), () => new Map());
    assert.equal(unreadable[0]?.why, 'what it changes is unknown: reading its change set arn:cs failed: Access denied');
    const removed = findDataRisks(root([stack('Remove')]), () => new Map());
    assert.deepEqual(removed.map((r) => [r.logicalId, r.action]), [['Network', 'remove']]);
    assert.match(removed[0]!.why, /deleted with every resource in it/);
  });

  it('lets a nested stack it creates through: a new stack holds no data yet', () => {
    assert.deepEqual(findDataRisks(root([stack('Add')]), () => new Map()), []);
  });

  it('guards every type that holds data, the audit retention rule\'s too (a database, a table, a file system, a secret)', () => {
    const changes = ['AWS::RDS::DBInstance', 'AWS::DynamoDB::Table', 'AWS::EFS::FileSystem', 'AWS::SecretsManager::Secret'].map(
      (type, i): ResourceChange => ({ Action: 'Remove', LogicalResourceId: `Data${i}`, ResourceType: type }),
    );
    assert.deepEqual(findDataRisks(root(changes), () => new Map()).map((r) => r.kind), ['a database instance', 'a DynamoDB table', 'an EFS file system', 'a secret']);
  });
});

describe("data gate: deploy of the 'ha' cluster refuses a change set that would restart its masters", function () {
  let out: string;

  before(async () => {
    process.env['AWS_EC2_METADATA_DISABLED'] = 'true';
    out = join(mkdtempSync(join(tmpdir(), 'dcos-cfn-gate-')), 'out');
    await writeOutput(compile(haCluster), out);
  });
  after(() => rmSync(join(out, '..'), { recursive: true, force: true }));

  it('names each master and the property, deletes the change set and executes nothing', async () => {
    // S3 answers the bundle's missing genconf record with NoSuchKey (helpers/aws-mock.ts): a bundle uploaded before npm run bundle recorded it.
    const { clients, cfn } = mockedClients();
    const stackId = STACK_ID;
    const zoneId = stackArn('prod-MasterZone-1ABC', 2);
    const rootCs = ROOT_CS;
    const zoneCs = changeSetArn('dcos-cfn-1-MasterZone-XYZ', 2);
    const templates = loadTemplates(out);
    const parameters = Object.keys(templates.root.template.Parameters ?? {}).map((ParameterKey) => ({ ParameterKey, ParameterValue: ParameterKey === 'TemplateBaseUrl' ? BASE_URL : 'x' }));
    cfn.on(DescribeStacksCommand).resolves({ Stacks: [{ StackId: stackId, StackName: 'prod', StackStatus: 'UPDATE_COMPLETE', CreationTime: new Date(), Parameters: parameters }] });
    cfn.on(GetTemplateCommand).resolves({ TemplateBody: 'Resources: {}\n' });
    cfn.on(ListChangeSetsCommand).resolves({ Summaries: [] });
    cfn.on(CreateChangeSetCommand).resolves({ Id: rootCs, StackId: stackId });
    cfn.on(DeleteChangeSetCommand).resolves({});
    // A new version of the masters' user data (a project upgrade): every master's UserData, Replacement False.
    const zoneChange: Change = {
      Type: 'Resource',
      ResourceChange: {
        Action: 'Modify',
        LogicalResourceId: 'MasterZone',
        PhysicalResourceId: zoneId,
        ResourceType: 'AWS::CloudFormation::Stack',
        Replacement: 'False',
        ChangeSetId: zoneCs,
        Details: [{ Target: { Attribute: 'Properties', Name: 'TemplateURL', RequiresRecreation: 'Never' }, Evaluation: 'Static', ChangeSource: 'DirectModification' }],
      },
    };
    cfn.on(DescribeChangeSetCommand).callsFake((input: { ChangeSetName: string }) =>
      input.ChangeSetName === zoneCs
        ? { ChangeSetId: zoneCs, StackId: zoneId, Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE', Changes: ['Master1', 'Master2', 'Master3'].map((id) => ({ Type: 'Resource', ResourceChange: instanceModify(id, ['UserData']) })) }
        : { ChangeSetId: rootCs, ChangeSetName: 'dcos-cfn-1', StackId: stackId, Status: 'CREATE_COMPLETE', ExecutionStatus: 'AVAILABLE', Changes: [zoneChange] },
    );
    const lines: string[] = [];
    await assert.rejects(
      deploy({ clients, templates, stackName: 'prod', parameters: {}, confirm: async () => true, print: (l) => lines.push(l), pollMs: 1, allowReplacement: ['Master1', 'Master2', 'Master3'] }),
      (err: unknown) => {
        assert.ok(err instanceof UserError);
        assert.match(err.message, /it would touch 3 masters at once/);
        for (const id of ['Master1', 'Master2', 'Master3']) {
          assert.match(err.message, new RegExp(`- prod/MasterZone: ${id} \\(AWS::EC2::Instance, a master instance\\) would be stopped and started: UserData changes, which stops and starts the instance`));
        }
        assert.match(err.message, /Deleted change set dcos-cfn-/);
        return true;
      },
    );
    assert.equal(cfn.commandCalls(ExecuteChangeSetCommand).length, 0);
    assert.equal(cfn.commandCalls(DeleteChangeSetCommand).length, 1);
  });
});
