/**
 * The audit's corpus: foreign templates with the exposure each must get, three-valued. Mesosphere's
 * templates (every version and variant in test/fixtures/mesosphere, plus reference/mesosphere-1.8.7), the
 * shared cases from public scanner bug reports (`e*_*.yaml`) and our own small cases, each named for what
 * it proves and saying so in its Description.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeExposure, describePaths, type GroupExposure } from '../lib/audit/exposure.js';
import { loadTemplateSet } from '../lib/audit/load.js';
import { analyzeNetwork } from '../lib/audit/network.js';
import { runDcosRules } from '../lib/audit/rules.js';

const CASES = 'test/fixtures/audit/cases';
const MESOSPHERE = 'test/fixtures/mesosphere';

const exposureOf = (path: string) => analyzeExposure(loadTemplateSet([path]));
const lines = (exposure: readonly GroupExposure[]) => exposure.map((e) => `${e.role} ${e.resource}: ${describePaths(e.paths)}`).sort();

/** Our rules' IDs with the resource, for a template. */
function ruleHits(path: string): string[] {
  const set = loadTemplateSet([path]);
  return runDcosRules(set, analyzeNetwork(set)).map((f) => `${f.rule} ${f.resource}`);
}

const ROUTING_OPEN = (subnet: string) => `subnet parameter ${subnet} is not defined in the templates: its public IP mapping, routing and network ACL are not known`;

const CASE_EXPOSURE: Record<string, readonly string[]> = {
  'e2_proto_gre.yaml': ['other Web: protocol 47 (GRE) direct'],
  'e2b_proto_esp.yaml': ['other Web: protocol 50 (ESP) direct'],
  'e9_eni_param_subnet.yaml': [`admin Bastion: may be: tcp 22 direct (${ROUTING_OPEN('SubnetId')})`],
  'e10_eip_eni.yaml': ['other App: tcp 8080 direct'],
  'proto-by-number.yaml': ['other Web: icmp; tcp 443; udp 53 direct'],
  'ipv6-only.yaml': ['other Host: icmpv6; tcp 22 direct'],
  'prefix-lists.yaml': [
    'other BehindDefinedList: unreachable',
    'other BehindNamedList: may be: tcp 443 direct (prefix list pl-0123456789abcdef0 is not defined in the templates: its entries are not known)',
  ],
  'elastic-ips.yaml': [
    'other ByAssociation: tcp 443 direct',
    'other ByConditionalAddress: may be: tcp 443 direct (ConditionalAddress is created only if condition AddressWanted holds, which is decided at deploy time)',
    'other ByOwnInstanceId: tcp 443 direct',
    'other WithoutAddress: unreachable',
  ],
  'asg-parameter-subnets.yaml': [
    `other ByConfiguration: may be: tcp 22 direct (${ROUTING_OPEN('Subnets')})`,
    `other ByTemplate: may be: tcp 22 direct (${ROUTING_OPEN('Subnets')})`,
    'other NoPublicIp: unreachable',
  ],
  'nat-instance.yaml': ['other NatInstance: tcp 22 direct', 'other Worker: unreachable'],
  'network-acl.yaml': ['other Web: tcp 443 direct'],
  'deploy-time-values.yaml': [
    'other Host: may be: tcp 22 direct (CidrIp: parameter AdminCidr of deploy-time-values has no value in the templates (known only at deploy time)); ' +
      'may be: tcp 0-65535 direct (the port range is known only at deploy time); ' +
      'may be: tcp 8443 direct (ExposedRule is created only if condition IsExposed holds, which is decided at deploy time)',
  ],
  'alb-listener-rules.yaml': ['other App: tcp 443 via Alb', 'other Other: unreachable'],
  'nlb-without-groups.yaml': ['other GroupOnly: unreachable', 'other Preserved: tcp 8443 via Nlb', 'other Unpreserved: tcp 9443 via Nlb'],
  'classic-elb.yaml': [
    'other Internal: unreachable',
    'other Web: tcp 443 via PublicElb; may be: tcp 80 via MaybeElb (Scheme: parameter ElbScheme of classic-elb has no value in the templates (known only at deploy time))',
  ],
};

describe('audit corpus: small cases, each proving one thing', () => {
  it('has an expected exposure for every case file, and a Description saying what it proves', () => {
    const files = readdirSync(CASES).filter((f) => f.endsWith('.yaml')).sort();
    assert.deepEqual(files, Object.keys(CASE_EXPOSURE).sort());
    for (const f of files) assert.match(readFileSync(join(CASES, f), 'utf8'), /^Description: '.{30,}'$/m, f);
  });

  for (const [file, expected] of Object.entries(CASE_EXPOSURE)) {
    it(`${file}: ${expected.join(' | ').slice(0, 110)}`, () => {
      assert.deepEqual(lines(exposureOf(join(CASES, file))), [...expected].sort());
    });
  }

  it('counts "may be reachable" like reachable for the role rules (DCOS.EC2.1, DCOS.EC2.4)', () => {
    const hits = ruleHits(join(CASES, 'e9_eni_param_subnet.yaml'));
    assert.ok(hits.includes('DCOS.EC2.1 Bastion'), hits.join('\n'));
    assert.ok(hits.includes('DCOS.EC2.4 Bastion'), hits.join('\n'));
  });

  it('keeps the certainty and the reason on every path of the JSON result', () => {
    const [host] = exposureOf(join(CASES, 'deploy-time-values.yaml'));
    assert.equal(host!.reachable, 'maybe');
    assert.ok(host!.paths.every((p) => p.certainty === 'possible' && p.reason && p.reason.length > 10));
    const [web] = exposureOf(join(CASES, 'network-acl.yaml'));
    assert.deepEqual(
      web!.paths.map((p) => ({ ...p })),
      [{ via: 'direct', protocol: 'tcp', from: 443, to: 443, certainty: 'proved' }],
    );
  });
});

const SIMPLE_EXPOSURE = [
  'master MasterServerGroup: tcp 22, 80, 443 direct; tcp 80, 443 via ElasticLoadBalancer',
  'other NATInstance: tcp 22, 80, 443 direct',
  'private-agent SlaveServerGroup: unreachable',
  'public-agent PublicSlaveServerGroup: tcp 0-21, 23-5050, 5052-32000; udp 0-21, 23-5050, 5052-32000 direct; tcp 80, 443 via PublicSlaveLoadBalancer',
];

const GATEWAY_OPEN = 'route PublicRoute sends 0.0.0.0/0 to gateway parameter InternetGateway, known only at deploy time';
/** The advanced (zen) templates take the VPC, subnets and internet gateway as parameters. */
const ZEN_EXPOSURE = [
  `master MasterServerGroup: may be: tcp 22, 80, 443 direct (${GATEWAY_OPEN}); may be: tcp 80, 443 via ElasticLoadBalancer (${GATEWAY_OPEN})`,
  `other NATInstance: may be: tcp 22, 80, 443 direct (${GATEWAY_OPEN})`,
  'private-agent PrivateAgentServerGroup: unreachable',
  `public-agent PublicAgentServerGroup: may be: tcp 0-21, 23-5050, 5052-32000; udp 0-21, 23-5050, 5052-32000 direct (${GATEWAY_OPEN}); may be: tcp 80, 443 via PublicAgentLoadBalancer (${GATEWAY_OPEN})`,
];

const MESOSPHERE_EXPOSURE: Record<string, readonly string[]> = {
  'reference/mesosphere-1.8.7/multi-master.cloudformation.json': SIMPLE_EXPOSURE,
  [`${MESOSPHERE}/official-1.8.7/single-master.cloudformation.json`]: SIMPLE_EXPOSURE,
  ...Object.fromEntries(
    ['1.10.11', '1.13.9'].flatMap((v) => ['single', 'multi'].map((n) => [`${MESOSPHERE}/dcos-${v}-rendered/${n}-master.cloudformation.json`, SIMPLE_EXPOSURE])),
  ),
  ...Object.fromEntries(['1.8.7', '1.10.11', '1.13.9'].flatMap((v) => [1, 3].map((n) => [`${MESOSPHERE}/dcos-${v}-rendered/advanced/coreos-zen-${n}.json`, ZEN_EXPOSURE]))),
  [`${MESOSPHERE}/dcos-network-cf.json`]: [],
};

/** The advanced templates on their own: security groups and subnets are parameters, so nothing is proved either way. */
const ADVANCED_ALONE: Record<string, Record<string, GroupExposure['reachable']>> = {
  'coreos-advanced-master-1.json': { master: 'maybe' },
  'coreos-advanced-master-3.json': { master: 'maybe' },
  'coreos-advanced-priv-agent.json': { 'private-agent': 'maybe' },
  'coreos-advanced-pub-agent.json': { 'public-agent': 'maybe' },
  'infra.json': { other: 'maybe' },
};

describe("audit corpus: Mesosphere's templates, every version and variant", () => {
  it('covers every template in the copied anchors', () => {
    const all = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? all(join(dir, e.name)) : e.name.endsWith('.json') ? [join(dir, e.name)] : []));
    const covered = new Set([...Object.keys(MESOSPHERE_EXPOSURE), ...Object.keys(ADVANCED_ALONE)].map((p) => p.split('/').pop()));
    for (const file of all(MESOSPHERE)) assert.ok(covered.has(file.split('/').pop()), file);
  });

  for (const [path, expected] of Object.entries(MESOSPHERE_EXPOSURE)) {
    it(`${path.replace(`${MESOSPHERE}/`, '')}: masters ${expected.length ? (expected[0]!.includes('may be') ? 'may be reachable' : 'reachable') : '—'}`, () => {
      assert.deepEqual(lines(exposureOf(path)), expected);
    });
  }

  for (const version of ['1.8.7', '1.10.11', '1.13.9']) {
    for (const [file, roles] of Object.entries(ADVANCED_ALONE)) {
      it(`dcos-${version} advanced/${file} alone: ${JSON.stringify(roles)}`, () => {
        const exposure = exposureOf(`${MESOSPHERE}/dcos-${version}-rendered/advanced/${file}`);
        assert.deepEqual(Object.fromEntries(exposure.map((e) => [e.role, e.reachable])), roles);
      });
    }
  }

  it('finds no user data over EC2\'s limit and no secret in a parameter Default in any of them (DCOS.EC2.6, DCOS.CFN.4)', () => {
    const paths = [
      ...Object.keys(MESOSPHERE_EXPOSURE),
      ...['1.8.7', '1.10.11', '1.13.9'].flatMap((v) => Object.keys(ADVANCED_ALONE).map((file) => `${MESOSPHERE}/dcos-${v}-rendered/advanced/${file}`)),
    ];
    for (const path of paths) assert.deepEqual(ruleHits(path).filter((hit) => /^DCOS\.(EC2\.6|CFN\.4) /.test(hit)), [], path);
  });

  it('flags the possibly reachable masters of the zen template like reachable ones', () => {
    const hits = ruleHits(`${MESOSPHERE}/dcos-1.13.9-rendered/advanced/coreos-zen-3.json`);
    for (const hit of ['DCOS.EC2.1 MasterServerGroup', 'DCOS.EC2.4 MasterServerGroup', 'DCOS.ELB.1 ElasticLoadBalancer']) assert.ok(hits.includes(hit), `${hit} in\n${hits.join('\n')}`);
  });
});
