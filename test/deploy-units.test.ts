/** The pure parts of deploy: error translation, parameters, capabilities, preview, policies, uploads. */
import { CreateBucketCommand, HeadBucketCommand, PutBucketEncryptionCommand, PutBucketPolicyCommand, PutPublicAccessBlockCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../lib/errors.js';
import { NODE_VERSION_NOTICE_SWITCH, quietNodeVersionNotice, translateAwsError } from '../lib/deploy/aws.js';
import { parseKeyValues, readParametersFile, resolveParameters, sameParameters } from '../lib/deploy/parameters.js';
import { leftRunningMessage } from '../lib/deploy/deploy.js';
import { renderPreview } from '../lib/deploy/preview.js';
import { securityNote } from '../lib/security-relevance.js';
import { stackPolicyFor } from '../lib/deploy/stack-policy.js';
import { loadTemplates, requiredCapabilities, type Template, type TemplateParameter, type TemplateSet } from '../lib/deploy/templates.js';
import { DEFINITIONS, synthesize } from './helpers/template.js';
import { bucketUrl, ensureBucket } from '../lib/deploy/upload.js';
import { writeCluster } from './moto-fixtures.js';

const where = { region: 'eu-west-1', profile: 'ops' };

/** An error shaped like the SDK's service exceptions. */
function awsError(name: string, message: string, status: number, extra: object = {}): Error {
  return Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: status, attempts: 1 }, ...extra });
}

function messageOf(err: unknown): string {
  assert.ok(err instanceof UserError, `expected a UserError, got ${String(err)}`);
  return err.message;
}

describe('deploy: AWS errors become messages with the fix', () => {
  it('no credentials names the ways to configure them', () => {
    const err = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    assert.match(messageOf(translateAwsError(err, 'DescribeStacks', where)), /^No AWS credentials found \(profile ops\)\. Configure credentials with one of: AWS_ACCESS_KEY_ID/);
  });

  it('an expired token says which call was refused and how to refresh', () => {
    const err = awsError('ExpiredToken', 'The security token included in the request is expired', 403);
    assert.equal(messageOf(translateAwsError(err, 'CreateChangeSet', where)), 'The AWS credentials (profile ops) have expired (CreateChangeSet was refused). Get fresh ones (aws sso login, or a new session token) and try again.');
  });

  it('access denied names the call and the region, and keeps what AWS said', () => {
    const err = awsError('AccessDenied', 'User: arn:aws:iam::111122223333:user/ops is not authorized to perform: cloudformation:CreateChangeSet', 403);
    const message = messageOf(translateAwsError(err, 'CreateChangeSet', where));
    assert.match(message, /^Access denied: CreateChangeSet in eu-west-1 was refused \(profile ops\)\./);
    assert.match(message, /AWS said: User: .* is not authorized to perform: cloudformation:CreateChangeSet/);
  });

  it('a bucket in another region says which region it is in', () => {
    const err = awsError('AuthorizationHeaderMalformed', "The authorization header is malformed; the region 'eu-west-1' is wrong; expecting 'us-east-2'", 400);
    assert.match(messageOf(translateAwsError(err, 'HeadBucket', where)), /^The S3 bucket is in another region \(us-east-2\) than eu-west-1/);
  });

  it('throttling that outlasts the retries says to wait', () => {
    const err = awsError('Throttling', 'Rate exceeded', 400, { $retryable: { throttling: true } });
    assert.match(messageOf(translateAwsError(err, 'DescribeStackEvents', where)), /^AWS kept throttling DescribeStackEvents after 8 attempts with backoff\./);
  });

  it('an unknown host points at the region', () => {
    const err = Object.assign(new Error('getaddrinfo ENOTFOUND cloudformation.eu-wset-1.amazonaws.com'), { code: 'ENOTFOUND' });
    assert.match(messageOf(translateAwsError(err, 'DescribeStacks', { region: 'eu-wset-1' })), /Cannot reach AWS in region eu-wset-1 .*Check --region/);
  });

  it('leaves a missing stack to the caller', () => {
    const err = awsError('ValidationError', 'Stack with id prod does not exist', 400);
    assert.equal(translateAwsError(err, 'DescribeStacks', where), err);
  });

  it('never puts a secret in a message', () => {
    const err = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    process.env['AWS_SECRET_ACCESS_KEY'] = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
    try {
      assert.doesNotMatch(messageOf(translateAwsError(err, 'DescribeStacks', where)), /wJalrXUtnFEMI/);
    } finally {
      delete process.env['AWS_SECRET_ACCESS_KEY'];
    }
  });
});

describe("deploy: the AWS SDK's Node-version notice", () => {
  it('is turned off on Node 20 only, and never against the user\'s own setting', () => {
    const on20: NodeJS.ProcessEnv = {};
    quietNodeVersionNotice(on20, '20.19.0');
    assert.equal(on20[NODE_VERSION_NOTICE_SWITCH], 'true');
    const chosen: NodeJS.ProcessEnv = { [NODE_VERSION_NOTICE_SWITCH]: 'false' };
    quietNodeVersionNotice(chosen, '20.19.0');
    assert.equal(chosen[NODE_VERSION_NOTICE_SWITCH], 'false');
    for (const version of ['22.12.0', '24.22.3']) {
      const env: NodeJS.ProcessEnv = {};
      quietNodeVersionNotice(env, version);
      assert.deepEqual(env, {}, version);
    }
  });

  it('is only turned off while every installed AWS SDK package still declares Node 20 in its engines', () => {
    // When an SDK update needs Node 22, drop Node 20 (package.json engines, README) and quietNodeVersionNotice.
    for (const scope of ['@aws-sdk', '@smithy']) {
      for (const name of readdirSync(join('node_modules', scope))) {
        const engines = (JSON.parse(readFileSync(join('node_modules', scope, name, 'package.json'), 'utf8')) as { engines?: { node?: string } }).engines?.node;
        if (engines === undefined) continue;
        const floor = /^>=\s*(\d+)(\.\d+)*$/.exec(engines.trim());
        assert.ok(floor && Number(floor[1]) <= 20, `${scope}/${name} requires node ${engines}`);
      }
    }
  });
});

describe('deploy: parameters, capabilities and policies', () => {
  let out: string;
  let set: TemplateSet;
  before(() => {
    out = writeCluster();
    set = loadTemplates(out);
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  it('reports every missing and unknown parameter at once', () => {
    assert.throws(
      () => resolveParameters(set.root.template, { Clustername: 'x', TemplateBaseUrl: 'y' }, undefined, 'https://b'),
      (err: unknown) => {
        const message = messageOf(err);
        assert.match(message, /Clustername is not a parameter of the root template \(did you mean ClusterName\?\) \(it declares: TemplateBaseUrl, ClusterName, CidrBlock\)/);
        assert.match(message, /TemplateBaseUrl is set by deploy/);
        assert.match(message, /The following parameters of the root template are missing a value: ClusterName\. Pass them with --parameter Key=Value or in --parameters-file\./);
        return true;
      },
    );
  });

  it('keeps previous values on an update and leaves defaults to CloudFormation', () => {
    const { parameters, effective } = resolveParameters(set.root.template, {}, [{ ParameterKey: 'ClusterName', ParameterValue: 'prod' }], 'https://b');
    assert.deepEqual(parameters, [
      { ParameterKey: 'TemplateBaseUrl', ParameterValue: 'https://b' },
      { ParameterKey: 'ClusterName', UsePreviousValue: true },
    ]);
    assert.deepEqual(effective, { TemplateBaseUrl: 'https://b', ClusterName: 'prod', CidrBlock: '10.20.0.0/16' });
    assert.equal(sameParameters(effective, [
      { ParameterKey: 'TemplateBaseUrl', ParameterValue: 'https://b' },
      { ParameterKey: 'ClusterName', ParameterValue: 'prod' },
      { ParameterKey: 'CidrBlock', ParameterValue: '10.20.0.0/16' },
    ]), true);
  });

  describe("values outside a parameter's constraints (CloudFormation checks them only at change-set time, moto never)", () => {
    const root = synthesize(DEFINITIONS.default!).stacks['Root'] as Template;
    const valid = { NodeImageId: 'ami-0123456789abcdef0', GatewayImageId: 'ami-0fedcba9876543210', KeyName: 'ops' };
    const problems = (given: Record<string, string>, template: Template = root) => {
      try {
        resolveParameters(template, given, undefined, 'https://b');
        return [];
      } catch (err) {
        return messageOf(err).split('\n').slice(1).map((l) => l.replace(/^\s*-\s*/, ''));
      }
    };

    it('accepts values within every constraint', () => {
      assert.deepEqual(problems({ ...valid, VpnClientCidr: '203.0.113.0/24', DcosCliUrl: 'https://downloads.dcos.io/binaries/cli/linux/x86-64/dcos-2.2/dcos' }), []);
    });

    it('names the parameter, the value and the constraint of each, all at once, with the unknown ones', () => {
      const found = problems({ ...valid, VpnClientCidr: '1.2.3.4', DcosCliUrl: 'http://downloads.dcos.io/dcos', NodeRootDeviceName: 'sda1', Foo: 'x' });
      const cidr = (root.Parameters!['VpnClientCidr'] as TemplateParameter).AllowedPattern!;
      assert.deepEqual(found.sort(), [
        `DcosCliUrl=http://downloads.dcos.io/dcos does not match its AllowedPattern ${(root.Parameters!['DcosCliUrl'] as TemplateParameter).AllowedPattern} (${(root.Parameters!['DcosCliUrl'] as TemplateParameter).ConstraintDescription}).`,
        `Foo is not a parameter of the root template (it declares: ${Object.keys(root.Parameters!).join(', ')}).`,
        'NodeRootDeviceName=sda1 does not match its AllowedPattern ^/dev/[a-z0-9]+$.',
        `VpnClientCidr=1.2.3.4 does not match its AllowedPattern ${cidr} (an IPv4 CIDR block).`,
      ]);
    });

    it('checks MaxLength, AllowedValues, Number bounds and each element of a list, and never prints a NoEcho value', () => {
      const template: Template = {
        Parameters: {
          Url: { Type: 'String', MaxLength: 10, MinLength: 2 },
          Protocol: { Type: 'String', AllowedValues: ['udp', 'tcp'] },
          Port: { Type: 'Number', MinValue: 1, MaxValue: 65535 },
          Zones: { Type: 'CommaDelimitedList', AllowedPattern: '[a-z]+-[0-9][a-z]' },
          Password: { Type: 'String', NoEcho: true, MinLength: 12, ConstraintDescription: 'at least 12 characters' },
        },
        Resources: {},
      };
      assert.deepEqual(problems({ Url: 'https://example.com', Protocol: 'icmp', Port: '70000', Zones: 'eu-1a,eu1b', Password: 'hunter2' }, template), [
        'Url is 19 characters long, over its MaxLength 10.',
        'Protocol=icmp is not one of its AllowedValues: udp, tcp.',
        'Port=70000 is above its MaxValue 65535.',
        '"eu1b" in Zones=eu-1a,eu1b does not match its AllowedPattern [a-z]+-[0-9][a-z].',
        'Password=**** is shorter than its MinLength 12 (at least 12 characters).',
      ]);
      assert.deepEqual(problems({ Url: 'x', Protocol: 'udp', Port: 'many', Zones: 'eu-1a', Password: 'correct horse battery' }, template), [
        'Url=x is shorter than its MinLength 2.',
        'Port=many is not a number.',
      ]);
      const secrets: Template = { Parameters: { Tokens: { Type: 'CommaDelimitedList', NoEcho: true, AllowedPattern: '[a-z]{8,}' } }, Resources: {} };
      assert.deepEqual(problems({ Tokens: 'longenough,s3cr' }, secrets), ['**** in Tokens=**** does not match its AllowedPattern [a-z]{8,}.']);
    });

    it("checks a master parameter that takes its node counterpart's value", () => {
      const template: Template = {
        Metadata: { 'dcos:parameterDefaults': { MasterRootDeviceName: 'NodeRootDeviceName' } },
        Parameters: { NodeRootDeviceName: { Type: 'String' }, MasterRootDeviceName: { Type: 'String', AllowedPattern: '^/dev/[a-z0-9]+$' } },
        Resources: {},
      };
      assert.deepEqual(problems({ NodeRootDeviceName: 'sda1' }, template), [
        "MasterRootDeviceName=sda1 does not match its AllowedPattern ^/dev/[a-z0-9]+$: it takes NodeRootDeviceName's value when not given; pass MasterRootDeviceName with --parameter MasterRootDeviceName=VALUE.",
      ]);
    });
  });

  describe('master parameters that start as the nodes\' (dcos:parameterDefaults)', () => {
    const template: Template = {
      Metadata: { 'dcos:parameterDefaults': { MasterImageId: 'NodeImageId', MasterKeyName: 'KeyName' } },
      Parameters: { NodeImageId: { Type: 'AWS::EC2::Image::Id' }, MasterImageId: { Type: 'AWS::EC2::Image::Id' }, KeyName: { Type: 'String' }, MasterKeyName: { Type: 'String' } },
      Resources: {},
    };
    const previous = (values: Record<string, string>) => Object.entries(values).map(([ParameterKey, ParameterValue]) => ({ ParameterKey, ParameterValue }));
    const given = (resolved: ReturnType<typeof resolveParameters>) => Object.fromEntries(resolved.parameters.map((p) => [p.ParameterKey, p.ParameterValue ?? 'previous']));

    it('on a create, takes the given node values and says so', () => {
      const resolved = resolveParameters(template, { NodeImageId: 'ami-1', KeyName: 'ops' }, undefined, 'https://b');
      assert.deepEqual(given(resolved), { NodeImageId: 'ami-1', MasterImageId: 'ami-1', KeyName: 'ops', MasterKeyName: 'ops' });
      assert.deepEqual(resolved.notes, [
        "MasterImageId is not given: it takes NodeImageId's value ami-1, and keeps it when NodeImageId changes.",
        "MasterKeyName is not given: it takes KeyName's value ops, and keeps it when KeyName changes.",
      ]);
    });

    it('on an update, keeps the masters\' own values while the agents\' image and key change', () => {
      const resolved = resolveParameters(template, { NodeImageId: 'ami-2', KeyName: 'ops2' }, previous({ NodeImageId: 'ami-1', MasterImageId: 'ami-1', KeyName: 'ops', MasterKeyName: 'ops' }), 'https://b');
      assert.deepEqual(given(resolved), { NodeImageId: 'ami-2', MasterImageId: 'previous', KeyName: 'ops2', MasterKeyName: 'previous' });
      assert.equal(resolved.effective['MasterImageId'], 'ami-1');
      assert.deepEqual(resolved.notes, []);
    });

    it('on the first update of a stack made before the masters had their own, takes the deployed node values, not the new ones', () => {
      const resolved = resolveParameters(template, { NodeImageId: 'ami-2' }, previous({ NodeImageId: 'ami-1', KeyName: 'ops' }), 'https://b');
      assert.deepEqual(given(resolved), { NodeImageId: 'ami-2', MasterImageId: 'ami-1', KeyName: 'previous', MasterKeyName: 'ops' });
      assert.match(resolved.notes[0]!, /^MasterImageId is not given: it takes NodeImageId's deployed value ami-1/);
    });

    it('names both when neither has a value', () => {
      assert.throws(() => resolveParameters(template, { KeyName: 'ops' }, undefined, 'https://b'), /missing a value: NodeImageId, MasterImageId\./);
    });
  });

  it('asks for CAPABILITY_IAM for IAM resources and NAMED_IAM when one has a name', () => {
    assert.deepEqual(requiredCapabilities(set), []);
    const withRole = (props: Record<string, unknown>): TemplateSet => ({ ...set, nested: { ...set.nested, Iam: { file: 'iam.yaml', body: '', key: 'iam', template: { Resources: { Role: { Type: 'AWS::IAM::Role', Properties: props } } } } } });
    assert.deepEqual(requiredCapabilities(withRole({})), ['CAPABILITY_IAM']);
    assert.deepEqual(requiredCapabilities(withRole({ RoleName: 'dcos-master' })), ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM']);
  });

  it('the stack policy denies replacing or deleting stateful resources, masters and the VPN gateway included', () => {
    const template: Template = {
      Resources: {
        Master1: { Type: 'AWS::EC2::Instance', Properties: { Tags: [{ Key: 'dcos:role', Value: 'master' }] } },
        VpnGateway: { Type: 'AWS::EC2::Instance', Properties: { Tags: [{ Key: 'dcos:role', Value: 'vpn' }] } },
        Bastion: { Type: 'AWS::EC2::Instance', Properties: { Tags: [{ Key: 'dcos:role', Value: 'cli' }] } },
        Master1Volume: { Type: 'AWS::EC2::Volume' },
        Key: { Type: 'AWS::KMS::Key' },
        Sg: { Type: 'AWS::EC2::SecurityGroup' },
      },
    };
    assert.deepEqual(stackPolicyFor(template).Statement[1], {
      Effect: 'Deny',
      Action: ['Update:Replace', 'Update:Delete'],
      Principal: '*',
      Resource: ['LogicalResourceId/Key', 'LogicalResourceId/Master1', 'LogicalResourceId/Master1Volume', 'LogicalResourceId/VpnGateway'],
    });
    assert.deepEqual(stackPolicyFor(template, ['Master1Volume']).Statement[1]?.['Resource'], ['LogicalResourceId/Key', 'LogicalResourceId/Master1', 'LogicalResourceId/VpnGateway']);
  });
});

describe('deploy: parameter input never repeats a value it refuses', () => {
  it('a parameters file that is not JSON: the error and where, without the excerpt Node quotes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dcos-params-'));
    try {
      const file = join(dir, 'params.json');
      for (const [text, expected] of [
        ['[{"ParameterKey": "DbPassword", "ParameterValue": "hunter2-s3cret"},]', /is not valid JSON: Unexpected token '\]'\.$/],
        ['[{"ParameterKey": "DbPassword",\n  "ParameterValue": "hunter2-s3cret" "x": 1}]', /is not valid JSON: Expected ',' or '\}' after property value at line 2, column 38\.$/],
      ] as const) {
        writeFileSync(file, text);
        assert.throws(() => readParametersFile(file), (err: unknown) => err instanceof UserError && expected.test(err.message) && !err.message.includes('s3cret'));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--parameter with no key does not repeat what was typed', () => {
    assert.throws(() => parseKeyValues('parameter', ['=hunter2-s3cret']), (err: unknown) => err instanceof UserError && err.exitCode === 2 && err.message === '--parameter =****: expected Key=Value.');
  });
});

describe('deploy: interrupted during the execution', () => {
  const resume = 'npm run deploy -- --stack-name prod --follow';
  it('an operation still running: it keeps going, and the command follows it to the end', () => {
    assert.equal(leftRunningMessage('CREATE_IN_PROGRESS', resume), `  CloudFormation keeps going on its own (now CREATE_IN_PROGRESS); nothing was cancelled.\n  To follow it to the end and apply the stack policies and termination protection, run:\n    ${resume}`);
  });
  it('an operation that has finished: nothing to follow, only the protections to apply', () => {
    const message = leftRunningMessage('CREATE_COMPLETE', resume);
    assert.equal(message, `  CloudFormation has finished: CREATE_COMPLETE.\n  To apply the stack policies and termination protection, run:\n    ${resume}`);
    assert.doesNotMatch(message, /follow it/);
  });
  it('an operation that failed: the command says why', () => {
    assert.match(leftRunningMessage('UPDATE_ROLLBACK_COMPLETE', resume), /has finished: UPDATE_ROLLBACK_COMPLETE\.\n  To see why it failed, run:\n/);
  });
});

describe('deploy: command line', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, ['dist/lib/cli.js', 'deploy', ...args], { encoding: 'utf8' });

  it('never takes a stray word for an allowed replacement', () => {
    const run = cli('--stack-name', 'prod', 'Vpc');
    assert.equal(run.status, 2);
    assert.match(run.stderr, /^error: Unexpected argument 'Vpc'/);
  });

  it('malformed option values are bad usage (exit 2), named, before any AWS call', () => {
    const out = writeCluster();
    try {
      const env = { PATH: process.env['PATH'], HOME: process.env['HOME'], AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };
      const cases: [string[], RegExp][] = [
        [['--parameter', 'KeyName'], /^error: --parameter KeyName: expected Key=Value\.$/m],
        [['--parameter', '=ops'], /^error: --parameter =\*\*\*\*: expected Key=Value\.$/m],
        [['--tag', 'team'], /^error: --tag team: expected Key=Value\.$/m],
        [['--region', 'Mars'], /^error: --region Mars is not an AWS region name \(expected something like eu-west-1\)/m],
        [['--drift-timeout', 'soon'], /^error: --drift-timeout soon: expected whole seconds/m],
      ];
      for (const [args, pattern] of cases) {
        for (const command of ['deploy', 'diff']) {
          const run = spawnSync(process.execPath, ['dist/lib/cli.js', command, '--stack-name', 'prod', '--out', out, '--skip-synth-check', ...args], { encoding: 'utf8', env });
          assert.match(run.stderr, pattern, `${command} ${args.join(' ')}`);
          assert.equal(run.status, 2, `${command} ${args.join(' ')}: ${run.stderr}`);
        }
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('reads several IDs after --allow-replacement, and refuses the flag without one', () => {
    assert.equal(cli('--stack-name', 'prod', '--allow-replacement', 'PublicSubnet1', 'Network/Vpc', '--yes', '--help').status, 0);
    const bare = cli('--stack-name', 'prod', '--allow-replacement', '--yes');
    assert.equal(bare.status, 2);
    assert.match(bare.stderr, /--allow-replacement/);
  });
});

describe('deploy, diff, package: --help', () => {
  const help = (command: string) => spawnSync(process.execPath, ['dist/lib/cli.js', command, '--help'], { encoding: 'utf8' });

  for (const command of ['deploy', 'diff', 'package']) {
    it(`${command} documents --skip-synth-check on its own line`, () => {
      const run = help(command);
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stdout, /^ {2}--skip-synth-check {6}use DIR as it is, even when its sources changed since synth$/m);
      assert.match(run.stdout, /^ {2}--out DIR {15}synthesized templates and manifest\.json/m);
    });
  }

  it('diff, which never asks, neither lists nor takes --yes; deploy and destroy do', () => {
    assert.doesNotMatch(help('diff').stdout, /--yes/);
    const yes = spawnSync(process.execPath, ['dist/lib/cli.js', 'diff', '--stack-name', 'prod', '--yes'], { encoding: 'utf8' });
    assert.equal(yes.status, 2);
    assert.match(yes.stderr, /^error: Unknown option '--yes'/);
    for (const command of ['deploy', 'destroy']) assert.match(help(command).stdout, /^ {2}-y, --yes {15}do not ask \(CI\)/m);
  });
});

describe('deploy: preview', () => {
  it('marks adds, removals and replacements and calls out what changes the internet\'s view', () => {
    const preview = renderPreview({
      path: 'prod',
      logicalId: 'prod',
      changeSetId: 'cs',
      children: [],
      changes: [
        { Action: 'Add', LogicalResourceId: 'PublicLoadBalancer', ResourceType: 'AWS::ElasticLoadBalancingV2::LoadBalancer' },
        { Action: 'Remove', LogicalResourceId: 'OldRule', ResourceType: 'AWS::EC2::SecurityGroupIngress' },
        { Action: 'Modify', LogicalResourceId: 'LogGroup', ResourceType: 'AWS::Logs::LogGroup', Replacement: 'True', Details: [{ Target: { Attribute: 'Properties', Name: 'LogGroupName', RequiresRecreation: 'Always' } }] },
        { Action: 'Modify', LogicalResourceId: 'Bucket', ResourceType: 'AWS::S3::Bucket', Replacement: 'False', Details: [{ Target: { Attribute: 'Tags', Name: 'Tags', RequiresRecreation: 'Never' } }] },
      ],
    });
    const rows = preview.text.split('\n');
    assert.match(rows[1]!, /^ {2}\+ PublicLoadBalancer +AWS::ElasticLoadBalancingV2::LoadBalancer {3}\[security: load-balancer scheme\]$/);
    assert.match(rows[2]!, /^ {2}- OldRule +AWS::EC2::SecurityGroupIngress {3}\[security: security-group rule\]$/);
    assert.match(rows[3]!, /^ {2}! LogGroup +AWS::Logs::LogGroup {2}\(LogGroupName\)$/);
    assert.match(rows[4]!, /^ {2}~ Bucket +AWS::S3::Bucket {2}\(Tags\)$/);
    assert.equal(preview.security.length, 2);
  });

  it('a nested stack updated without a change set of its own is "unknown" in the security summary, never "none"', () => {
    const preview = renderPreview({
      path: 'prod',
      logicalId: 'prod',
      changeSetId: 'cs',
      children: [],
      changes: [{ Action: 'Modify', LogicalResourceId: 'Network', ResourceType: 'AWS::CloudFormation::Stack', Replacement: 'False', Details: [{ Target: { Attribute: 'Properties', Name: 'TemplateURL' } }] }],
    });
    assert.match(preview.text, /^ {2}~ Network \(nested stack\): what it changes is unknown: CloudFormation gave no change set for it$/m);
    assert.match(preview.text, /^Security-relevant changes: unknown, since what they change could not be read:\n {2}\* prod\/Network: CloudFormation gave no change set for it$/m);
    assert.doesNotMatch(preview.text, /No security-relevant changes/);
    assert.deepEqual(preview.unknown, ['prod/Network: CloudFormation gave no change set for it']);
  });

  it('a nested stack created without a change set of its own is shown from its template in out/, its security-relevant resources called out', () => {
    const network = {
      Resources: {
        Vpc: { Type: 'AWS::EC2::VPC' },
        PublicLoadBalancer: { Type: 'AWS::ElasticLoadBalancingV2::LoadBalancer' },
        AdminSecurityGroup: { Type: 'AWS::EC2::SecurityGroup' },
        MasterRole: { Type: 'AWS::IAM::Role' },
      },
    } satisfies Template;
    const preview = renderPreview(
      { path: 'prod', logicalId: 'prod', changeSetId: 'cs', children: [], changes: [{ Action: 'Add', LogicalResourceId: 'Network', ResourceType: 'AWS::CloudFormation::Stack' }] },
      (id) => (id === 'Network' ? network : undefined),
    );
    assert.match(preview.text, /^ {2}\+ Network \(nested stack\): created from its template in out\/$/m);
    assert.match(preview.text, /^ {6}\+ PublicLoadBalancer +AWS::ElasticLoadBalancingV2::LoadBalancer {3}\[security: load-balancer scheme\]$/m);
    assert.equal(preview.changeCount, 4);
    assert.deepEqual(preview.security, [
      'prod/Network/PublicLoadBalancer: load-balancer scheme (+)',
      'prod/Network/AdminSecurityGroup: security-group rules (+)',
      'prod/Network/MasterRole: IAM (+)',
    ]);
    assert.deepEqual(preview.unknown, []);
    assert.match(preview.text, /Security-relevant changes \(3\)/);
  });

  it('one list of security-relevant changes covers interfaces, targets, bucket and key policies, endpoints, routes and IAM', () => {
    const modify = (ResourceType: string, Name: string) => securityNote({ Action: 'Modify', ResourceType, Details: [{ Target: { Attribute: 'Properties', Name } }] });
    assert.equal(modify('AWS::EC2::NetworkInterface', 'GroupSet'), 'network interface');
    assert.equal(modify('AWS::EC2::NetworkInterface', 'Description'), undefined);
    assert.equal(modify('AWS::EC2::NetworkInterfaceAttachment', 'InstanceId'), 'network interface');
    assert.equal(modify('AWS::ElasticLoadBalancingV2::TargetGroup', 'Targets'), 'load-balancer targets');
    assert.equal(modify('AWS::S3::BucketPolicy', 'PolicyDocument'), 'bucket policy');
    assert.equal(modify('AWS::S3::Bucket', 'PublicAccessBlockConfiguration'), 'bucket access');
    assert.equal(modify('AWS::KMS::Key', 'KeyPolicy'), 'key policy');
    assert.equal(modify('AWS::KMS::Key', 'Description'), undefined);
    assert.equal(modify('AWS::EC2::EIPAssociation', 'AllocationId'), 'public IP');
    assert.equal(modify('AWS::EC2::VPCEndpoint', 'PolicyDocument'), 'VPC endpoint');
    assert.equal(modify('AWS::EC2::SubnetRouteTableAssociation', 'RouteTableId'), 'internet routing');
    assert.equal(securityNote({ Action: 'Add', ResourceType: 'AWS::EC2::RouteTable' }), 'internet routing');
    assert.equal(securityNote({ Action: 'Add', ResourceType: 'AWS::IAM::InstanceProfile' }), 'IAM');
    assert.equal(securityNote({ Action: 'Remove', ResourceType: 'AWS::IAM::ManagedPolicy' }), 'IAM');
    // A bucket or key added or removed is data (the data gate's business), not access.
    assert.equal(securityNote({ Action: 'Add', ResourceType: 'AWS::S3::Bucket' }), undefined);
  });

  it('a security group change that touches only its description is not called out', () => {
    assert.equal(securityNote({ Action: 'Modify', ResourceType: 'AWS::EC2::SecurityGroup', Details: [{ Target: { Name: 'Tags' } }] }), undefined);
    assert.equal(securityNote({ Action: 'Modify', ResourceType: 'AWS::EC2::Subnet', Details: [{ Target: { Name: 'MapPublicIpOnLaunch' } }] }), 'public IP');
  });
});

describe('deploy: template bucket', () => {
  it('creates the default bucket encrypted, with public access blocked and a TLS-only policy', async () => {
    const s3 = new S3Client({ region: 'eu-west-1' });
    const mock = mockClient(s3);
    mock.on(HeadBucketCommand).rejects(Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }));
    mock.on(CreateBucketCommand).resolves({});
    mock.on(PutPublicAccessBlockCommand).resolves({});
    mock.on(PutBucketEncryptionCommand).resolves({});
    mock.on(PutBucketPolicyCommand).resolves({});
    assert.equal(await ensureBucket({ s3, bucket: 'b', region: 'eu-west-1', create: true }), true);
    assert.equal(mock.commandCalls(CreateBucketCommand)[0]!.args[0].input.CreateBucketConfiguration?.LocationConstraint, 'eu-west-1');
    assert.deepEqual(mock.commandCalls(PutPublicAccessBlockCommand)[0]!.args[0].input.PublicAccessBlockConfiguration, {
      BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true,
    });
    const policy = JSON.parse(mock.commandCalls(PutBucketPolicyCommand)[0]!.args[0].input.Policy!);
    assert.deepEqual(policy.Statement[0].Condition, { Bool: { 'aws:SecureTransport': 'false' } });
    assert.equal(policy.Statement[0].Effect, 'Deny');
  });

  it('a --bucket that does not exist is an error, not created', async () => {
    const s3 = new S3Client({ region: 'eu-west-1' });
    mockClient(s3).on(HeadBucketCommand).rejects(Object.assign(new Error('NotFound'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }));
    await assert.rejects(ensureBucket({ s3, bucket: 'mine', region: 'eu-west-1', create: false }), /^UserError: S3 bucket mine \(--bucket\) does not exist\. Create it in eu-west-1, or omit --bucket/);
  });

  it('template URLs use the regional S3 host, or localhost on an emulator', () => {
    assert.equal(bucketUrl('b', 'eu-west-1'), 'https://b.s3.eu-west-1.amazonaws.com');
    assert.equal(bucketUrl('b', 'us-east-1', 'http://127.0.0.1:5000'), 'http://localhost:5000/b');
  });
});
