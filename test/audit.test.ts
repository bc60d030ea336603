import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { auditTemplateSet, WAIVABLE_RULES, type AuditResult } from '../lib/audit/audit.js';
import { analyzeExposure, describePaths } from '../lib/audit/exposure.js';
import { sortFindings, type Finding } from '../lib/audit/finding.js';
import { controlTowerRules, guardBinary, guardProcessesStarted, planRuns, runControlTower, startControlTower } from '../lib/audit/guard.js';
import { loadTemplateSet, templateSetOf } from '../lib/audit/load.js';
import { analyzeNetwork } from '../lib/audit/network.js';
import { formatCompare } from '../lib/audit/report.js';
import { runDcosRules } from '../lib/audit/rules.js';
import { oversizedUserData } from '../lib/audit/user-data.js';
import { UserError } from '../lib/errors.js';
import { compile, writeOutput } from '../lib/synth.js';
import { STATEFUL_TYPES as GATE_STATEFUL_TYPES } from '../lib/deploy/stateful.js';
import { DATA_TYPES } from '../lib/stateful.js';
import { childStacks } from '../stacks/cluster.js';
import defaultCluster from '../stacks/clusters/default.js';
import haCluster from '../stacks/clusters/ha.js';
import { SCANNER_RULES } from '../stacks/waivers.js';
import { tempFolders } from './helpers/temp.js';

const FIXTURES = 'test/fixtures/audit';
const fixture = (name: string) => join(FIXTURES, name);
const MESOSPHERE = 'reference/mesosphere-1.8.7/multi-master.cloudformation.json';
const CLI = join(process.cwd(), 'dist/lib/cli.js');
const tmp = tempFolders('dcos-audit-');

/** Our rules only (no cfn-guard): `rule resource: message` lines. */
function dcosFindings(path: string): string[] {
  const set = loadTemplateSet([path]);
  return runDcosRules(set, analyzeNetwork(set)).map((f) => `${f.rule} ${f.resource}: ${f.message}`);
}

/** `role resource: paths` per compute group. */
function exposure(path: string): string[] {
  return analyzeExposure(loadTemplateSet([path])).map((e) => `${e.role} ${e.resource}: ${describePaths(e.paths)}`);
}

describe('audit: exposure', () => {
  it('finds a group with a public IP behind an open security group reachable directly', () => {
    assert.deepEqual(exposure(fixture('ec2-3-ssh-open.yaml')), ['admin Bastion: tcp 22 direct']);
  });

  it('finds masters reachable through an internet-facing load balancer', () => {
    // Its subnets and the group's launch settings are not in the fixture, so the way in is possible, not proved.
    assert.match(exposure(fixture('elb-1-master-lb-internet.yaml'))[0]!, /^master Masters: .*may be: tcp 443 via MasterLoadBalancer \(no subnets are given/);
  });

  it("counts a parameter's Default (0.0.0.0/0) as the admitted range (in the default VPC, whose state is open)", () => {
    assert.deepEqual(exposure(fixture('param-default-open.json')), [
      'master MasterInstance: may be: tcp 443 direct (no subnet is given, so instances go to the default VPC, whose state is not in the templates)',
    ]);
  });

  it('follows values through nested stacks: outputs, passed parameters, joined lists', () => {
    // The child's AdminCidr defaults to 10.0.0.0/8, but the root passes 0.0.0.0/0.
    assert.deepEqual(exposure(fixture('nested/root.yaml')), ['admin AdminGroup: tcp 22 direct']);
  });

  it("ties an IP target to the instance with that fixed address (a master behind an internet-facing NLB)", () => {
    const [master] = exposure(fixture('elb-2-ip-targets.yaml'));
    assert.match(master!, /^master Master1: .*may be: tcp 9443 via PublicLoadBalancer \(no subnets are given/);
  });

  it('lets everyone through an internet-facing NLB without security groups (the targets decide)', () => {
    assert.deepEqual(exposure(fixture('ec2-4-nlb-no-groups.yaml')), [
      'private-agent PrivateAgents: may be: all traffic direct (the group names no launch template or configuration); ' +
        'may be: tcp 5050 via AgentLoadBalancer (subnet subnet-12345678 is not defined in the templates: its public IP mapping, routing and network ACL are not known; the group names no launch template or configuration)',
    ]);
  });

  it('keeps groups behind an internal load balancer unreachable, and sees public agents and the VPN', () => {
    assert.deepEqual(exposure(fixture('clean.yaml')), [
      'master Master1: unreachable',
      'vpn VpnGateway: udp 1194 direct',
      'public-agent PublicAgentGroup: tcp 80, 443 via PublicLoadBalancer',
    ]);
  });

  it('does not count a public IP in a subnet without a route to an internet gateway', () => {
    assert.deepEqual(exposure(fixture('no-internet-route.yaml')), ['other Worker: unreachable']);
  });

  it("finds Mesosphere's masters reachable on tcp 22/80/443 directly and 80/443 through the load balancer", () => {
    assert.ok(exposure(MESOSPHERE).includes('master MasterServerGroup: tcp 22, 80, 443 direct; tcp 80, 443 via ElasticLoadBalancer'));
  });

  it('calls nothing unreachable that a link left open could expose: a subnet that is a literal ID', () => {
    assert.match(exposure(fixture('waiver-1-bad-waivers.yaml'))[0]!, /^admin Admin: may be: all traffic direct \(subnet subnet-12345678 is not defined/);
  });
});

describe('audit: our rules', () => {
  it('passes a hardened template on every rule', () => {
    assert.deepEqual(dcosFindings(fixture('clean.yaml')), []);
  });

  it('DCOS.ELB.1: an internet-facing load balancer to masters', () => {
    assert.ok(dcosFindings(fixture('elb-1-master-lb-internet.yaml')).includes(
      'DCOS.ELB.1 MasterLoadBalancer: is internet-facing and forwards to masters (Masters); set Scheme: internal',
    ), dcosFindings(fixture('elb-1-master-lb-internet.yaml')).join('\n'));
  });

  it('DCOS.ELB.2: an internet-facing load balancer forwarding to an address no instance has', () => {
    const found = dcosFindings(fixture('elb-2-ip-targets.yaml'));
    assert.ok(found.includes(
      'DCOS.ELB.2 PublicLoadBalancer: listener 9443 forwards to ByAddress: 10.0.99.7, which is no instance or group of these templates; the internet reaches it unchecked',
    ), found.join('\n'));
    assert.ok(found.some((f) => f.startsWith('DCOS.ELB.1 PublicLoadBalancer: is internet-facing and forwards to masters (Master1)')), found.join('\n'));
  });

  it('DCOS.EC2.1: a master with a public IP', () => {
    assert.ok(dcosFindings(fixture('ec2-1-public-ip.yaml')).includes(
      'DCOS.EC2.1 Master1: master gets a public IP (AssociatePublicIpAddress: true); set AssociatePublicIpAddress: false and use private subnets',
    ));
  });

  it('DCOS.EC2.2: master ingress from an address range', () => {
    assert.deepEqual(dcosFindings(fixture('ec2-2-master-cidr.yaml')).filter((f) => f.startsWith('DCOS.EC2.2')), [
      'DCOS.EC2.2 VpcWide: master security group MasterGroup admits 10.0.0.0/16 on tcp 8080-8181; admit security groups instead',
    ]);
  });

  it('DCOS.EC2.3: SSH open to the internet, and a control port on an NLB without security groups', () => {
    assert.ok(dcosFindings(fixture('ec2-3-ssh-open.yaml')).includes('DCOS.EC2.3 SshGroup: admits 0.0.0.0/0 on tcp 22 (SSH)'));
    assert.ok(dcosFindings(fixture('ec2-4-nlb-no-groups.yaml')).includes(
      'DCOS.EC2.3 AgentLoadBalancer: internet-facing NLB without security groups listens on tcp 5050 (Mesos) for everyone',
    ));
  });

  it('DCOS.EC2.4: exposure beyond what the role expects', () => {
    assert.ok(dcosFindings(fixture('ec2-4-nlb-no-groups.yaml')).some((f) =>
      f.startsWith('DCOS.EC2.4 PrivateAgents: private-agent may be reachable: may be: all traffic direct') && f.endsWith('; expected: unreachable'),
    ));
  });

  it('DCOS.CFN.1: a secret-looking parameter without NoEcho (KeyName is no secret)', () => {
    assert.deepEqual(dcosFindings(fixture('cfn-1-secret-parameter.yaml')), [
      'DCOS.CFN.1 Parameters.DbPassword: looks like a secret but is not NoEcho; set NoEcho: true (better: read it from Secrets Manager at boot)',
    ]);
  });

  it('DCOS.CFN.2: a secret parameter and an access key in user data, a secret in an output', () => {
    assert.deepEqual(dcosFindings(fixture('cfn-2-secret-user-data.yaml')).filter((f) => f.startsWith('DCOS.CFN.2')), [
      'DCOS.CFN.2 Admin: user data holds secret parameter AdminPassword, an AWS access key ID; fetch secrets at boot from Secrets Manager or SSM',
      'DCOS.CFN.2 Outputs.Password: output shows secret parameter AdminPassword; do not output secrets',
    ]);
  });

  it('DCOS.CFN.4: a secret in a parameter Default, by shape or by name, or any Default of a NoEcho parameter (look-alikes pass)', () => {
    const fix = '; the template shows it to everyone who can read the stack: remove the Default and pass the value at deploy time (better: a dynamic reference to Secrets Manager), and replace a credential that was ever in a template';
    const found = dcosFindings(fixture('cfn-4-secret-defaults.yaml'));
    assert.deepEqual(found.filter((f) => f.startsWith('DCOS.CFN.4')), [
      `DCOS.CFN.4 Parameters.DbPassword: it is NoEcho, but NoEcho does not mask its Default${fix}`,
      `DCOS.CFN.4 Parameters.Foo: its Default holds an AWS access key ID${fix}`,
      `DCOS.CFN.4 Parameters.SessionKeyId: its Default holds an AWS access key ID${fix}`,
      `DCOS.CFN.4 Parameters.AwsSecretAccessKey: its Default holds a 40-character string shaped like an AWS secret access key${fix}`,
      `DCOS.CFN.4 Parameters.AwsCredentials: its Default holds a 40-character string shaped like an AWS secret access key${fix}`,
      `DCOS.CFN.4 Parameters.TlsBundle: its Default holds a private key (PEM)${fix}`,
      `DCOS.CFN.4 Parameters.GithubToken: its name says it holds a secret and it has a Default (40 characters)${fix}`,
      `DCOS.CFN.4 Parameters.AdminPassword: its name says it holds a secret and it has a Default (8 characters)${fix}`,
      `DCOS.CFN.4 Parameters.LicenseKey: its Default is a random-looking 24-character string in a key parameter${fix}`,
    ]);
    // The messages say what a value looks like, never the value.
    assert.ok(!found.some((f) => /SuperSecret|AKIAIOSFODNN|wJalrXUtn|changeme|ghp_/.test(f)), found.join('\n'));
    // Names that only point at a secret or describe one are no secret's name (DCOS.CFN.1 agrees).
    assert.deepEqual(found.filter((f) => f.startsWith('DCOS.CFN.1')).map((f) => f.split(':')[0]), [
      'DCOS.CFN.1 Parameters.AwsCredentials',
      'DCOS.CFN.1 Parameters.GithubToken',
      'DCOS.CFN.1 Parameters.AdminPassword',
    ]);
  });

  it('DCOS.CFN.3: a stateful resource not retained on replacement (RetainExceptOnCreate is for DeletionPolicy only)', () => {
    assert.deepEqual(dcosFindings(fixture('cfn-3-not-retained.yaml')).filter((f) => f.startsWith('DCOS.CFN.3')), [
      'DCOS.CFN.3 Bucket: AWS::S3::Bucket has DeletionPolicy RetainExceptOnCreate and UpdateReplacePolicy RetainExceptOnCreate; set DeletionPolicy to RetainExceptOnCreate (or Retain) and UpdateReplacePolicy to Retain',
      'DCOS.CFN.3 SnapshotBucket: AWS::S3::Bucket has DeletionPolicy Snapshot and UpdateReplacePolicy Retain (AWS::S3::Bucket has no snapshots: Snapshot keeps nothing); set DeletionPolicy to RetainExceptOnCreate (or Retain) and UpdateReplacePolicy to Retain',
      'DCOS.CFN.3 Logs: AWS::Logs::LogGroup has DeletionPolicy Retain and UpdateReplacePolicy Delete (default); set DeletionPolicy to RetainExceptOnCreate (or Retain) and UpdateReplacePolicy to Retain',
    ]);
  });

  it('DCOS.CFN.3 and the data gate hold the same types as stateful: one list, the gate adding only the VPC and subnets', () => {
    const gate = Object.keys(GATE_STATEFUL_TYPES).sort();
    const retained = Object.keys(DATA_TYPES).sort();
    assert.deepEqual(gate.filter((t) => !retained.includes(t)), ['AWS::EC2::Subnet', 'AWS::EC2::VPC']);
    assert.deepEqual(retained.filter((t) => !gate.includes(t)), []);
    for (const type of ['AWS::RDS::DBInstance', 'AWS::DynamoDB::Table', 'AWS::EFS::FileSystem', 'AWS::SecretsManager::Secret']) {
      assert.ok(GATE_STATEFUL_TYPES[type], `the gate guards ${type}`);
    }
  });

  it('DCOS.VPC.1: a VPC without flow logs', () => {
    assert.deepEqual(dcosFindings(fixture('vpc-1-no-flow-logs.yaml')), [
      'DCOS.VPC.1 Vpc: no AWS::EC2::FlowLog has ResourceId: !Ref Vpc; add one with TrafficType: ALL',
    ]);
  });

  it('DCOS.S3.1: a bucket whose policy does not deny plain HTTP', () => {
    assert.deepEqual(dcosFindings(fixture('s3-1-no-tls-policy.yaml')), [
      'DCOS.S3.1 Bucket: no bucket policy denies requests with aws:SecureTransport false; add an AWS::S3::BucketPolicy with that Deny statement',
    ]);
  });
});

describe('audit: least privilege and termination protection', () => {
  const found = () => dcosFindings(fixture('iam-ec2-5-privilege.yaml')).filter((f) => /^DCOS\.(IAM|EC2\.5)/.test(f));

  it('DCOS.IAM.1, DCOS.IAM.2, DCOS.EC2.5: a managed policy, a wildcard key, an unprotected master', () => {
    assert.deepEqual(found(), [
      'DCOS.IAM.1 NodeRole: attaches the AWS-managed policy AmazonSSMManagedInstanceCore; grant the few actions needed in an inline policy instead',
      'DCOS.IAM.2 NodeRole: allows s3:PutObject on ${Bucket.Arn}/clients/*; name the exact ARN (a bucket key, a key ID, a log group)',
      'DCOS.EC2.5 Master2: master instance can be terminated by an API call; set DisableApiTermination: true (npm run destroy turns it off before deleting)',
    ]);
  });
});

describe("audit: user data within EC2's 16 KB limit (DCOS.EC2.6)", () => {
  const instance = (userData: unknown) => ({ Type: 'AWS::EC2::Instance', Properties: { ImageId: 'ami-12345678', UserData: userData } });
  const sub = (text: string, variables?: Record<string, unknown>) => ({ 'Fn::Base64': { 'Fn::Sub': variables ? [text, variables] : text } });
  const x = (n: number) => 'x'.repeat(n);
  const FIX = 'shorten the program (fetch the rest at boot), or give its parameters a MaxLength';

  /** DCOS.EC2.6 findings, `stack/resource: message`, for templates given as objects (a root and its nested stacks). */
  function oversized(root: object, children: Record<string, object> = {}): string[] {
    const set = templateSetOf('mem', { file: 'root.json', template: root }, Object.entries(children).map(([id, template]) => ({ id, file: `${id}.json`, template })));
    return oversizedUserData(set).map((f) => `${f.stack}/${f.resource}: ${f.message}`);
  }

  it('passes 16,384 bytes and fails one more, in UTF-8 bytes, for instances, launch templates and launch configurations', () => {
    const over = { 'Fn::Base64': `é${x(16_383)}` };
    assert.deepEqual(
      oversized({
        Resources: {
          AtLimit: instance({ 'Fn::Base64': x(16_384) }),
          Instance: instance(over),
          Template: { Type: 'AWS::EC2::LaunchTemplate', Properties: { LaunchTemplateData: { UserData: over } } },
          Configuration: { Type: 'AWS::AutoScaling::LaunchConfiguration', Properties: { ImageId: 'ami-12345678', InstanceType: 'm6i.large', UserData: over } },
          Encoded: instance(Buffer.from(x(16_385)).toString('base64')),
        },
      }),
      ['Instance', 'Template', 'Configuration', 'Encoded'].map((id) => `root/${id}: user data is 16,385 bytes before base64 encoding, over EC2's limit of 16,384; ${FIX}`),
    );
  });

  it("counts a parameter at its longest: no MaxLength is CloudFormation's 4,096-byte limit, MaxLength characters up to 4 bytes each, AllowedValues the longest", () => {
    const Parameters = { Url: { Type: 'String' }, Short: { Type: 'String', MaxLength: 100 }, Mode: { Type: 'String', AllowedValues: ['a', 'abcdef'] } };
    assert.deepEqual(
      oversized({
        Parameters,
        Resources: {
          Open: instance(sub(`${x(8_200)}\${Url}\${Url}`)),
          Bounded: instance(sub(`${x(8_200)}\${Short}\${Short}`)),
          Wide: instance(sub(`${x(16_000)}\${Short}`)),
          Allowed: instance(sub(`${x(16_379)}\${Mode}`)),
        },
      }),
      [
        `root/Open: user data may reach 16,392 bytes before base64 encoding, over EC2's limit of 16,384: 8,200 bytes of text plus, at their longest, 2 × parameter Url (4,096 bytes: no MaxLength, so CloudFormation's limit on a parameter value); ${FIX}`,
        `root/Wide: user data may reach 16,400 bytes before base64 encoding, over EC2's limit of 16,384: 16,000 bytes of text plus, at their longest, parameter Short (400 bytes: MaxLength 100 characters, up to 4 bytes each); ${FIX}`,
        `root/Allowed: user data may reach 16,385 bytes before base64 encoding, over EC2's limit of 16,384: 16,379 bytes of text plus, at their longest, parameter Mode (6 bytes: its longest AllowedValues entry); ${FIX}`,
      ],
    );
  });

  it("follows a nested stack's parameter to what its parent passes; pseudo parameters at their maximum; ${!Literal} as text", () => {
    const child = { Parameters: { Url: { Type: 'String' } }, Resources: { Node: instance(sub(`${x(8_200)}\${Url}\${Url}`)) } };
    const root = (urlParameter: object) => ({
      Parameters: { Url: urlParameter },
      Resources: { Child: { Type: 'AWS::CloudFormation::Stack', Properties: { TemplateURL: 'Child.json', Parameters: { Url: { Ref: 'Url' } } } } },
    });
    assert.deepEqual(oversized(root({ Type: 'String', MaxLength: 200 }), { Child: child }), []);
    assert.match(oversized(root({ Type: 'String' }), { Child: child }).join('\n'), /^Child\/Node: user data may reach 16,392 bytes .* 2 × parameter Url \(4,096 bytes/);
    assert.deepEqual(
      oversized({
        Resources: {
          Named: instance(sub(`${x(16_300)}\${AWS::StackName}`)),
          Escaped: instance(sub(`${x(16_374)}\${!Literal}`)),
          EscapedOver: instance(sub(`${x(16_375)}\${!Literal}`)),
        },
      }),
      [
        `root/Named: user data may reach 16,428 bytes before base64 encoding, over EC2's limit of 16,384: 16,300 bytes of text plus, at their longest, AWS::StackName (128 bytes); ${FIX}`,
        `root/EscapedOver: user data is 16,385 bytes before base64 encoding, over EC2's limit of 16,384; ${FIX}`,
      ],
    );
  });

  it('fails closed: a value with no known maximum leaves the size unbounded', () => {
    assert.deepEqual(oversized({ Resources: { Host: instance(sub('#!/bin/sh\n${Script}', { Script: { 'Fn::ImportValue': 'shared-script' } })) } }), [
      `root/Host: user data has no upper bound on its size, over EC2's limit of 16,384: at their longest, Fn::ImportValue (its value is known only at deploy time and has no documented maximum); ${FIX}`,
    ]);
  });
});

describe('audit: several output folders at once', () => {
  it('reads each stack of each folder from its own file: the default and ha clusters together have no finding', async () => {
    const parent = tmp('dcos-audit-both-');
    for (const [name, config] of [['default', defaultCluster], ['ha', haCluster]] as const) await writeOutput(compile(config), join(parent, name));
    const set = loadTemplateSet([join(parent, 'default'), join(parent, 'ha')]);
    assert.deepEqual(runDcosRules(set, analyzeNetwork(set)).map((f) => `${f.rule} ${f.resource}`), []);
  });
});

describe('audit: bad input', () => {
  const fails = (path: string, pattern: RegExp) =>
    assert.throws(() => loadTemplateSet([path]), (err: unknown) => err instanceof UserError && pattern.test(err.message));

  it('names a file that is no CloudFormation template', () => {
    fails(fixture('bad/not-a-template.json'), /bad\/not-a-template\.json is not a CloudFormation template: it has no Resources section/);
  });

  it('gives file and line of unparseable YAML and JSON', () => {
    fails(fixture('bad/broken.yaml'), /bad\/broken\.yaml:5: invalid YAML/);
    fails(fixture('bad/broken.json'), /bad\/broken\.json:3: invalid JSON/);
  });

  it('names the nested stack whose template is missing and where it looked', () => {
    fails(fixture('missing-nested'), /nested stack Network was not found: looked for .*missing-nested\/gone\.yaml/);
  });

  it('exits non-zero with the message and no stack trace', () => {
    const run = spawnSync(process.execPath, [CLI, 'audit', fixture('bad/broken.yaml')], { encoding: 'utf8' });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^error: .*broken\.yaml:5: invalid YAML/);
    assert.doesNotMatch(run.stderr, /at .*\.js:\d+/);
  });
});

describe('audit: cfn-guard work split', () => {
  it('gives each rule, parsed once, exactly the templates it applies to: one process per set of templates', () => {
    const applies = new Map([
      ['ec2-15', ['master-zone', 'agents', 'vpn']],
      ['ec2-16', ['master-zone', 'vpn']],
      ['ec2-1', ['vpn', 'agents', 'master-zone']],
      ['iam-1', ['network', 'master-zone', 'agents', 'vpn']],
      ['s3-1', ['vpn']],
      ['ec2-19', ['vpn', 'master-zone']],
      ['none', []],
    ]);
    const runs = planRuns(applies);
    assert.deepEqual(
      runs.map((r) => ({ rules: r.rules, units: [...r.units].sort() })),
      [
        { rules: ['ec2-15', 'ec2-1'], units: ['agents', 'master-zone', 'vpn'] },
        { rules: ['ec2-16', 'ec2-19'], units: ['master-zone', 'vpn'] },
        { rules: ['iam-1'], units: ['agents', 'master-zone', 'network', 'vpn'] },
        { rules: ['s3-1'], units: ['vpn'] },
      ],
    );
    for (const [rule, units] of applies) {
      const holding = runs.filter((r) => r.rules.includes(rule));
      assert.equal(holding.length, units.length ? 1 : 0, `${rule} is parsed by one process`);
      if (units.length) assert.deepEqual([...holding[0]!.units].sort(), [...units].sort(), `${rule} sees exactly its templates`);
    }
  });
});

describe('audit: with cfn-guard (Control Tower rules) and waivers', () => {
  let mesosphere: AuditResult;
  let clean: AuditResult;
  let waivers: AuditResult;
  before(async () => {
    [mesosphere, clean, waivers] = await Promise.all([
      auditTemplateSet(MESOSPHERE),
      auditTemplateSet(fixture('clean.yaml')),
      auditTemplateSet(fixture('waiver-1-bad-waivers.yaml')),
    ]);
  });

  it('gives the same findings from cached cfn-guard results as from a fresh run', async () => {
    const previous = process.env['DCOS_CFN_CACHE'];
    process.env['DCOS_CFN_CACHE'] = 'off';
    try {
      const uncached = await auditTemplateSet(MESOSPHERE);
      assert.deepEqual(uncached.findings, mesosphere.findings);
    } finally {
      if (previous === undefined) delete process.env['DCOS_CFN_CACHE'];
      else process.env['DCOS_CFN_CACHE'] = previous;
    }
    assert.deepEqual((await auditTemplateSet(MESOSPHERE)).findings, mesosphere.findings);
    assert.ok(mesosphere.findings.some((f) => f.rule.startsWith('CT.')));
  });

  it("finds, with each template's rule subset in grouped processes, what the whole pack finds on each template alone", async () => {
    const ha = compile(haCluster);
    const stacks = [...loadTemplateSet([MESOSPHERE]).stacks, ...templateSetOf('ha', ha.root, ha.children).stacks];
    const previous = process.env['DCOS_CFN_CACHE'];
    process.env['DCOS_CFN_CACHE'] = 'off';
    let found: Finding[];
    try {
      found = await runControlTower(stacks);
    } finally {
      if (previous === undefined) delete process.env['DCOS_CFN_CACHE'];
      else process.env['DCOS_CFN_CACHE'] = previous;
    }
    const ours = found.map((f) => `${f.stack} ${f.guardRule} ${f.resource}`).sort();

    // The reference: all 237 rules of the pack (its folder), one cfn-guard process per template, from a file.
    const pack = dirname(dirname(controlTowerRules()[0]!.guardFile));
    const dir = mkdtempSync(join(tmpdir(), 'dcos-guard-reference-'));
    try {
      const perStack = await Promise.all(
        stacks.map(async (stack, i) => {
          const data = join(dir, `${i}.json`);
          writeFileSync(data, JSON.stringify(stack.template));
          const run = await execa(guardBinary(), ['validate', '--rules', pack, '--data', data, '--output-format', 'json', '--show-summary', 'none', '--structured'], { reject: false });
          assert.ok([0, 19, 20].includes(run.exitCode ?? -1), run.stderr);
          const [result] = JSON.parse(run.stdout) as { not_compliant: { Rule: { name: string } }[] }[];
          return result!.not_compliant.flatMap((entry) =>
            [...new Set([...JSON.stringify(entry).matchAll(/"\/Resources\/([^/"]+)/g)].map((m) => m[1]!))].map((resource) => `${stack.name} ${entry.Rule.name} ${resource}`),
          );
        }),
      );
      const reference = perStack.flat().sort();
      assert.ok(reference.some((f) => f.startsWith('multi-master.cloudformation ')), 'the reference finds something');
      assert.deepEqual(ours, reference);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes the results of cfn-guard runs started early on the nested templates (as synth does) and starts no other', async () => {
    const previous = process.env['DCOS_CFN_CACHE'];
    process.env['DCOS_CFN_CACHE'] = 'off';
    try {
      const before = guardProcessesStarted();
      startControlTower(Object.values(childStacks(haCluster)));
      const early = guardProcessesStarted() - before;
      assert.ok(early > 0, 'runs started');
      const ha = compile(haCluster);
      const nested = templateSetOf('ha', ha.root, ha.children).stacks.filter((s) => s.parent);
      const taken = await runControlTower(nested);
      assert.equal(guardProcessesStarted() - before, early, 'no other cfn-guard process');
      assert.deepEqual(sortFindings(taken), sortFindings(await runControlTower(nested)), 'the same findings as a run of its own');
      assert.ok(guardProcessesStarted() - before > early, 'the second audit ran cfn-guard itself');
    } finally {
      if (previous === undefined) delete process.env['DCOS_CFN_CACHE'];
      else process.env['DCOS_CFN_CACHE'] = previous;
    }
  });

  it("reports Mesosphere's findings from both packs", () => {
    const rules = new Set(mesosphere.findings.map((f) => f.rule));
    for (const rule of ['CT.EC2.PR.3', 'CT.AUTOSCALING.PR.5', 'CT.S3.PR.1', 'DCOS.ELB.1', 'DCOS.EC2.1', 'DCOS.EC2.3', 'DCOS.EC2.4', 'DCOS.VPC.1']) {
      assert.ok(rules.has(rule), rule);
    }
    assert.ok(mesosphere.findings.some((f) => f.rule === 'CT.AUTOSCALING.PR.5' && f.resource === 'MasterLaunchConfig'));
  });

  it('sets aside findings of waivable rules waived with a reason, in our metadata or guard.SuppressedRules', () => {
    assert.deepEqual(
      clean.waivers.map((w) => `${w.rule} ${w.resource} ${w.valid} ${w.used}: ${w.reason}`),
      [
        'CT.S3.PR.9 ProfileBucket true true: Object Lock would keep profiles of a deleted cluster for years.',
        's3_event_notifications_enabled_check ProfileBucket true true: The VPN writes one profile; nothing listens for it.',
      ],
    );
    assert.ok(!clean.findings.some((f) => f.rule === 'CT.S3.PR.9' || f.rule === 'CT.S3.PR.4'));
  });

  it('turns a waiver of a hardening rule, or one without a reason, into a finding', () => {
    const lines = waivers.findings.filter((f) => f.rule === 'DCOS.WAIVER.1').map((f) => `${f.resource}: ${f.message}`);
    assert.equal(lines.length, 2);
    assert.match(lines.find((l) => l.startsWith('Open'))!, /DCOS\.EC2\.3 is a hardening rule and cannot be waived; fix the resource instead/);
    assert.match(lines.find((l) => l.startsWith('Admin'))!, /waiver of ec2_instance_detailed_monitoring_enabled_check gives no reason/);
    assert.ok(waivers.findings.some((f) => f.rule === 'DCOS.EC2.3' && f.resource === 'Open'), 'the finding itself stays');
    assert.ok(waivers.findings.some((f) => f.rule === 'CT.EC2.PR.13' && f.resource === 'Admin'), 'the finding itself stays');
  });

  it('compares two sets row by row: exposure per role, findings per rule', () => {
    const text = formatCompare(clean, mesosphere);
    assert.match(text, /\| master +\| unreachable +\| tcp 22, 80, 443 direct; tcp 80, 443 via ElasticLoadBalancer +\|/);
    assert.match(text, /\| DCOS\.ELB\.1 +\| The master load balancer is internal +\| 0 +\| 1 +\|/);
  });
});

for (const [name, config] of [['default', defaultCluster], ['ha', haCluster]] as const) {
  describe(`audit: our synthesized output ('${name}')`, () => {
    let ours: AuditResult;
    let compiled: ReturnType<typeof compile>;
    let dir: string;
    before(async () => {
      dir = tmp('dcos-audit-out-');
      compiled = compile(config);
      await writeOutput(compiled, dir);
      ours = await auditTemplateSet(dir);
    });

    it('audits the compiled objects in memory (as synth does) exactly as the YAML files written from them', async () => {
      const inMemory = templateSetOf(dir, compiled.root, compiled.children);
      const fromFiles = loadTemplateSet([dir]);
      assert.deepEqual(inMemory.stacks.map((s) => [s.name, s.file, s.template]), fromFiles.stacks.map((s) => [s.name, s.file, s.template]));
      const result = await auditTemplateSet(inMemory);
      assert.deepEqual({ ...result, label: dir }, { ...ours, label: dir });
    });

    it('keeps masters, agents and admin unreachable; public agents on 80/443 via their load balancer; the VPN on one port', () => {
      const byRole = (role: string) => ours.exposure.filter((e) => e.role === role).map((e) => describePaths(e.paths));
      assert.equal(byRole('master').length, config.masters.count);
      for (const role of ['master', 'private-agent', 'admin']) assert.deepEqual([...new Set(byRole(role))], ['unreachable'], role);
      assert.deepEqual(byRole('public-agent'), ['tcp 80, 443 via PublicLoadBalancer']);
      assert.deepEqual(byRole('vpn'), ['udp 1194 direct']);
    });

    it('has zero findings', () => {
      assert.deepEqual(ours.findings.map((f) => `${f.rule} ${f.stack}/${f.resource}: ${f.message}`), []);
    });

    it('writes each waiver in every scanner format that has the rule, with the same reason, and reads them back', () => {
      const stacks = [...compile(config).children];
      const waived = stacks.flatMap((c) => Object.entries(c.template.Resources).filter(([, r]) => r.Metadata?.['dcos:waivers']).map(([id, r]) => ({ id, metadata: r.Metadata! })));
      assert.ok(waived.length >= 3);
      for (const { id, metadata } of waived) {
        const reasons = metadata['dcos:waivers'] as Record<string, string>;
        for (const [rule, reason] of Object.entries(reasons)) {
          const ids = SCANNER_RULES[rule]!;
          assert.ok((metadata['guard'] as { SuppressedRules: string[] }).SuppressedRules.includes(ids.guard), `${id} guard ${rule}`);
          if (ids.checkov) assert.deepEqual((metadata['checkov'] as { skip: unknown[] }).skip.find((s) => (s as { id: string }).id === ids.checkov), { id: ids.checkov, comment: reason });
          if (ids.cfnNag) assert.deepEqual((metadata['cfn_nag'] as { rules_to_suppress: unknown[] }).rules_to_suppress.find((s) => (s as { id: string }).id === ids.cfnNag), { id: ids.cfnNag, reason });
          if (ids.cdkNag) assert.deepEqual((metadata['cdk_nag'] as { rules_to_suppress: unknown[] }).rules_to_suppress.find((s) => (s as { id: string }).id === ids.cdkNag), { id: ids.cdkNag, reason });
        }
      }
      // Read back by the audit: the guard names mirror our waivers, so each waiver is listed once.
      assert.equal(new Set(ours.waivers.map((w) => `${w.stack}/${w.resource} ${w.rule}`)).size, ours.waivers.length);
      assert.ok(ours.waivers.every((w) => w.source === 'dcos:waivers'));
    });

    it('waives only operational rules, each with a reason, and every waiver is used', () => {
      assert.ok(ours.waivers.length > 0);
      for (const w of ours.waivers) {
        assert.ok(w.valid && w.used && w.reason.length > 20, `${w.rule} on ${w.stack}/${w.resource}`);
        assert.ok(w.rule in WAIVABLE_RULES, w.rule);
      }
    });
  });
}

describe('audit: several clusters at once', () => {
  it("keeps each root's nested stacks apart: both definitions' out/ together have zero findings, each group named by its root", async () => {
    const dirs = await Promise.all(
      [defaultCluster, haCluster].map(async (config) => {
        const dir = tmp('dcos-audit-two-');
        await writeOutput(compile(config), dir);
        return dir;
      }),
    );
    const both = await auditTemplateSet(dirs);
    assert.deepEqual(both.findings.map((f) => `${f.rule} ${f.stack}/${f.resource}`), []);
    const masters = both.exposure.filter((e) => e.role === 'master').map((e) => `${e.stack}/${e.resource}`);
    assert.equal(masters.length, defaultCluster.masters.count + haCluster.masters.count);
    assert.equal(new Set(masters).size, masters.length, `master groups share names: ${masters.join(', ')}`);
  });
});
