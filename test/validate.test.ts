import assert from 'node:assert/strict';
import { defineCluster, instanceArchitecture, type ClusterDefinition } from '../stacks/config.js';
import { DESCRIPTION_LIMIT, validateCluster, validateDefinition } from '../stacks/validate.js';
import { rootDescription } from '../stacks/root.js';
import { compile } from '../lib/synth.js';
import { ValidationError } from '../lib/errors.js';
import { DEFINITIONS } from './helpers/template.js';

/** Problems for a definition that differs from a valid one by `overrides`. */
function problemsOf(overrides: Partial<Record<keyof ClusterDefinition, unknown>>): string[] {
  return validateCluster(defineCluster({ name: 'test', ...(overrides as object) } as ClusterDefinition));
}

describe('cluster definition validation', () => {
  it('makes the bundle bucket from the name and Region unless given, and keeps a given one', () => {
    assert.deepEqual(defineCluster({ name: 'prod', region: 'eu-west-1' }).bundle, { bucket: 'prod-dcos-bundle-eu-west-1', prefix: 'dcos' });
    assert.deepEqual(defineCluster({ name: 'prod', bundle: { bucket: 'acme-dcos' } }).bundle, { bucket: 'acme-dcos', prefix: 'dcos' });
    assert.deepEqual(validateCluster(defineCluster({ name: 'prod', region: 'us-gov-west-1', bundle: { prefix: 'dcos/2.2.1' } })), []);
  });

  it('accepts a Graviton VPN gateway and dcos-cli instance together, and names the arm64 image in GatewayImageId', () => {
    const config = defineCluster({ name: 'arm', vpn: { instanceType: 't4g.small' }, admin: { instanceType: 'm7g.medium' } });
    assert.deepEqual(validateCluster(config), []);
    for (const t of [compile(config).root, ...compile(config).children].filter((t) => 'GatewayImageId' in ((t.template as { Parameters?: object }).Parameters ?? {}))) {
      assert.match((t.template as { Parameters: Record<string, { Description: string }> }).Parameters['GatewayImageId']!.Description, /^Ubuntu 24\.04 arm64 AMI .*\/current\/arm64\/hvm\/ebs-gp3\/ami-id\)$/, t.id);
    }
  });

  it('tells Graviton instance types (arm64) from the others (x86_64)', () => {
    for (const type of ['t4g.small', 'm7g.xlarge', 'c7gn.2xlarge', 'r8gd.large', 'x2gd.medium', 'im4gn.large', 'is4gen.medium', 'g5g.xlarge', 'hpc7g.4xlarge', 'a1.large']) {
      assert.equal(instanceArchitecture(type), 'arm64', type);
    }
    for (const type of ['c6a.large', 'm6i.xlarge', 't3.small', 'g4dn.xlarge', 'p4d.24xlarge', 'm7i-flex.large', 'c5n.large', 'inf2.xlarge', 'r7iz.large']) {
      assert.equal(instanceArchitecture(type), 'x86_64', type);
    }
  });

  it('accepts both shipped definitions', () => {
    for (const [name, config] of Object.entries(DEFINITIONS)) assert.deepEqual(validateCluster(config), [], name);
  });

  const cases: [string, Partial<Record<keyof ClusterDefinition, unknown>>, RegExp][] = [
    ['a malformed name', { name: 'My_Cluster' }, /^name: got "My_Cluster", expected lowercase letters/],
    ['a master count other than 1, 3 or 5', { masters: { count: 2 } }, /^masters\.count: got 2, expected 1, 3 or 5/],
    ['more AZs than 3', { availabilityZones: 4 }, /^availabilityZones: got 4, expected a whole number from 1 to 3/],
    ['fewer AZs than 3 masters need', { masters: { count: 3 }, availabilityZones: 2 }, /^availabilityZones: got 2, expected 3 for 3 masters/],
    ['a private agent count out of range', { privateAgents: { count: 0 } }, /^privateAgents\.count: got 0, expected a whole number from 1 to 100/],
    ['a public agent count out of range', { publicAgents: { count: 21 } }, /^publicAgents\.count: got 21, expected a whole number from 1 to 20/],
    ['a malformed instance type', { masters: { instanceType: 'xlarge' } }, /^masters\.instanceType: got "xlarge", expected an EC2 instance type/],
    ['a malformed VPN instance type', { vpn: { instanceType: 'T3 small' } }, /^vpn\.instanceType: got "T3 small"/],
    ['a Graviton master (DC/OS is x86_64 only)', { masters: { instanceType: 'm7g.xlarge' } }, /^masters\.instanceType: got "m7g\.xlarge", expected an x86_64 instance type like m6i\.xlarge: m7g\.xlarge is AWS Graviton \(arm64\), and DC\/OS's packages are built for x86_64 only$/],
    ['a Graviton private agent', { privateAgents: { instanceType: 'c7gn.2xlarge' } }, /^privateAgents\.instanceType: got "c7gn\.2xlarge", expected an x86_64 instance type/],
    ['a Graviton VPN gateway beside an x86_64 dcos-cli instance (one GatewayImageId)', { vpn: { instanceType: 't4g.small' } }, /^admin\.instanceType: got "c6a\.large", expected an arm64 instance type like vpn\.instanceType t4g\.small: the VPN gateway and the dcos-cli instance boot one image \(GatewayImageId\), and c6a\.large is x86_64$/],
    ['a root volume too small', { publicAgents: { rootVolumeGiB: 8 } }, /^publicAgents\.rootVolumeGiB: got 8, expected a whole number of GiB from 20/],
    ['a state volume too small', { masters: { stateVolumeGiB: 1 } }, /^masters\.stateVolumeGiB: got 1/],
    ['an invalid VPC CIDR', { vpcCidr: '10.0.0/16' }, /^vpcCidr: got "10\.0\.0\/16", expected an IPv4 CIDR block/],
    ['a VPC prefix out of range', { vpcCidr: '10.0.0.0/8' }, /^vpcCidr: got "10\.0\.0\.0\/8", expected a prefix from \/16 to \/24/],
    ['a subnet outside the VPC', { subnets: { public: ['10.1.0.0/24'] } }, /^subnets\.public\[0\]: got "10\.1\.0\.0\/24", expected a range inside vpcCidr 10\.0\.0\.0\/16/],
    ['overlapping subnets', { subnets: { masterZone: ['10.0.0.0/25'] } }, /^subnets\.masterZone\[0\]: got "10\.0\.0\.0\/25", expected a range that does not overlap subnets\.public\[0\] \(10\.0\.0\.0\/24\)/],
    ['a malformed subnet', { subnets: { privateAgents: ['10.0.32.0'] } }, /^subnets\.privateAgents\[0\]: got "10\.0\.32\.0", expected an IPv4 CIDR block/],
    ['a subnet list that does not match the AZ count', { subnets: { publicAgents: ['10.0.12.0/22', '10.0.16.0/22'] } }, /^subnets\.publicAgents: got \[.*\], expected one CIDR per Availability Zone \(1\)/],
    ['a VPN client pool inside the VPC', { vpn: { clientCidr: '10.0.200.0/24' } }, /^vpn\.clientCidr: got "10\.0\.200\.0\/24", expected a range outside vpcCidr/],
    ['a VPN port out of range', { vpn: { port: 70000 } }, /^vpn\.port: got 70000, expected a port from 1 to 65535/],
    ['a VPN protocol other than udp or tcp', { vpn: { protocol: 'icmp' } }, /^vpn\.protocol: got "icmp", expected "udp" or "tcp"/],
    ['a flow log retention CloudWatch does not offer', { flowLogRetentionDays: 42 }, /^flowLogRetentionDays: got 42, expected a CloudWatch Logs retention value/],
    ['a malformed Region', { region: 'eu-west' }, /^region: got "eu-west", expected an AWS Region code like eu-west-1/],
    ['a bundle bucket with dots (no HTTPS by its virtual-hosted name)', { bundle: { bucket: 'dcos.bundles' } }, /^bundle\.bucket: got "dcos\.bundles", expected an S3 bucket name .*no dots/],
    ['a bundle bucket with capitals', { bundle: { bucket: 'DcosBundles' } }, /^bundle\.bucket: got "DcosBundles"/],
    ['a bundle folder ending in a slash', { bundle: { prefix: 'dcos/' } }, /^bundle\.prefix: got "dcos\/", expected a folder like dcos or dcos\/2\.2/],
  ];
  for (const [what, overrides, message] of cases) {
    it(`rejects ${what}`, () => {
      const problems = problemsOf(overrides);
      assert.ok(problems.some((p) => message.test(p)), `expected ${message} in:\n${problems.join('\n')}`);
    });
  }

  // What AWS or CloudFormation would reject later, each refused alone with one message.
  const rejectedByAws: [string, Partial<Record<keyof ClusterDefinition, unknown>>, string][] = [
    ['a VPC range with leading zeros', { vpcCidr: '010.000.000.000/16' }, 'vpcCidr: got "010.000.000.000/16", expected a CIDR block in canonical notation, without leading zeros (10.0.0.0/16)'],
    ['a VPC range with host bits set', { vpcCidr: '10.0.0.1/16' }, 'vpcCidr: got "10.0.0.1/16", expected a CIDR block with the host bits zero (10.0.0.0/16)'],
    ['a subnet with leading zeros', { subnets: { public: ['10.0.00.0/24'] } }, 'subnets.public[0]: got "10.0.00.0/24", expected a CIDR block in canonical notation, without leading zeros (10.0.0.0/24)'],
    ['a VPN pool with host bits set', { vpn: { clientCidr: '10.255.0.1/24' } }, 'vpn.clientCidr: got "10.255.0.1/24", expected a CIDR block with the host bits zero (10.255.0.0/24)'],
    [
      'a description longer than CloudFormation takes',
      { description: 'x'.repeat(2000) },
      `description: got "${'x'.repeat(40)}...", expected at most 971 characters (CloudFormation's 1024 for a template Description, less 53 for the name and shape); it has 2000`,
    ],
    [
      '100 private agents in a /28',
      { privateAgents: { count: 100 }, subnets: { privateAgents: ['10.0.32.0/28'] } },
      "subnets.privateAgents[0]: got \"10.0.32.0/28\", expected room for 101 private agent(s) (100 + 1 for rolling updates over 1 AZ(s)): 101 addresses plus AWS's 5 reserved, a /25 or larger (a /28 has 11 usable)",
    ],
    [
      '20 public agents in a /28',
      { publicAgents: { count: 20 }, subnets: { publicAgents: ['10.0.12.0/28'] } },
      "subnets.publicAgents[0]: got \"10.0.12.0/28\", expected room for 21 public agent(s) (20 + 1 for rolling updates over 1 AZ(s)): 21 addresses plus AWS's 5 reserved, a /27 or larger (a /28 has 11 usable)",
    ],
  ];
  for (const [what, overrides, message] of rejectedByAws) {
    it(`refuses ${what} with exactly one message`, () => {
      assert.deepEqual(problemsOf(overrides), [message]);
    });
  }

  it('takes a definition at the limits: a 969-character description with 100 private agents in a /25', () => {
    assert.deepEqual(problemsOf({ description: 'x'.repeat(969), privateAgents: { count: 100 }, subnets: { privateAgents: ['10.0.32.0/25'] } }), []);
    assert.deepEqual(problemsOf({ name: 'a-twenty-four-char-name1', description: 'y'.repeat(969 - 'a-twenty-four-char-name1'.length + 4) }), []);
  });

  it('reports every problem at once, and compile refuses before writing anything', () => {
    const config = defineCluster({ name: 'x', masters: { count: 4 }, vpcCidr: 'nope', flowLogRetentionDays: 2 });
    assert.throws(
      () => compile(config),
      (err: unknown) =>
        err instanceof ValidationError &&
        /Cluster definition 'x' is invalid/.test(err.message) &&
        ['name:', 'masters.count:', 'vpcCidr:', 'flowLogRetentionDays:'].every((p) => err.problems.some((q) => q.startsWith(p))),
    );
  });

  describe('shape and value problems in one report (validateDefinition)', () => {
    /** A definition as a file might export it: defineCluster's result with `edit` applied afterwards (a cast, a spread). */
    const exported = (edit: (config: Record<string, unknown>) => void) => {
      const config = JSON.parse(JSON.stringify(defineCluster({ name: 'test' }))) as Record<string, unknown>;
      edit(config);
      return config;
    };

    it('an unknown key, a NaN and two bad values: all four, the NaN named as NaN once', () => {
      const value = exported((c) => {
        c['privateAgent'] = { count: 50 };
        (c['vpn'] as Record<string, unknown>)['port'] = NaN;
        (c['masters'] as Record<string, unknown>)['count'] = 2;
        (c['subnets'] as Record<string, unknown>)['public'] = ['10.1.0.0/24'];
      });
      assert.deepEqual(validateDefinition(value), [
        'vpn.port: got NaN, expected a finite number',
        'privateAgent: unknown key (did you mean privateAgents?); it would be ignored, leaving the default in place',
        'masters.count: got 2, expected 1, 3 or 5 (a ZooKeeper quorum)',
        'subnets.public[0]: got "10.1.0.0/24", expected a range inside vpcCidr 10.0.0.0/16',
      ]);
    });

    it('a group of the wrong type: its shape problem, the other groups still checked, nothing about what it would hold', () => {
      const value = exported((c) => {
        c['masters'] = 'three';
        (c['privateAgents'] as Record<string, unknown>)['count'] = 0;
      });
      assert.deepEqual(validateDefinition(value), [
        'masters: got a string ("three"), expected an object',
        'privateAgents.count: got 0, expected a whole number from 1 to 100',
      ]);
    });

    it('a check that combines a broken input is skipped, not run on a guess', () => {
      // The longest description the root's Description takes with one master; with the count unknown, its length is too.
      const valid = defineCluster({ name: 'test' });
      const longest = DESCRIPTION_LIMIT - (rootDescription(valid).length - valid.description.length);
      assert.deepEqual(validateDefinition(exported((c) => (c['description'] = 'x'.repeat(longest)))), []);
      const value = exported((c) => {
        c['description'] = 'x'.repeat(longest);
        (c['masters'] as Record<string, unknown>)['count'] = 'one';
        c['availabilityZones'] = Infinity;
      });
      assert.deepEqual(validateDefinition(value), [
        'availabilityZones: got Infinity, expected a finite number',
        'masters.count: got a string ("one"), expected a number',
      ]);
    });

    it('no definition at all: only that', () => {
      assert.deepEqual(validateDefinition('dcos'), ['the default export: got a string ("dcos"), expected a cluster definition: export default defineCluster({ name: \'...\', ... })']);
    });
  });
});
