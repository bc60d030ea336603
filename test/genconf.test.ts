/**
 * The DC/OS configuration synth writes to genconf/: read back from the files and held equal to the templates synth
 * wrote beside it (master list, bundle URL and its bucket policy, resolver), and its programs shellchecked. The boot
 * tests make their stand-in bundle from these files and run ip-detect and fault-domain-detect on booted nodes.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { parseManifest, readGenconf, readManifest } from '../lib/manifest.js';
import { compile, writeOutput } from '../lib/synth.js';
import { parseTemplate } from '../lib/yaml.js';
import { defineCluster } from '../stacks/config.js';
import { dcosConfig, genconfFiles, VPC_RESOLVER } from '../stacks/genconf.js';
import { DEFINITIONS, resourcesOfType, type Json } from './helpers/template.js';

const shellcheckAvailable = spawnSync('shellcheck', ['--version'], { stdio: 'ignore' }).status === 0;

for (const [name, config] of Object.entries(DEFINITIONS)) {
  describe(`genconf of the '${name}' cluster`, () => {
    let out: string;
    let stacks: Record<string, Json>;
    let dcos: Json;
    before(async () => {
      out = join(mkdtempSync(join(tmpdir(), 'dcos-cfn-genconf-')), 'out');
      await writeOutput(compile(config), out);
      const manifest = readManifest(out);
      const files: [string, string][] = [['Root', manifest.root], ...Object.entries(manifest.stacks).map(([id, e]): [string, string] => [id, e.file])];
      stacks = Object.fromEntries(files.map(([id, file]) => [id, parseTemplate(readFileSync(join(out, file), 'utf8'), file) as Json]));
      dcos = parse(readGenconf(out, manifest, 'config.yaml').toString('utf8')) as Json;
    });
    after(() => rmSync(join(out, '..'), { recursive: true, force: true }));

    it('is a static-master, static-Exhibitor config naming the masters the templates placed', () => {
      assert.equal(dcos.master_discovery, 'static');
      assert.equal(dcos.exhibitor_storage_backend, 'static');
      assert.equal(dcos.cluster_name, config.name);
      assert.deepEqual(dcos.master_list, stacks.MasterZone!.Outputs.MasterAddresses.Value.split(','));
      assert.equal(stacks.Root!.Outputs.MasterAddresses.Value, dcos.master_list.join(','));
      const userData = stacks.MasterZone!.Resources.Master1.Properties.UserData['Fn::Base64']['Fn::Sub'];
      assert.equal(userData[1].MasterList, JSON.stringify(dcos.master_list), 'the bootstrap checks the bundle for this list');
    });

    it('has bootstrap_url = the bundle URL the nodes read, which only the cluster\'s S3 endpoint may read', () => {
      const [[, parameter]] = resourcesOfType(stacks.Root!, 'AWS::SSM::Parameter');
      assert.equal(dcos.bootstrap_url, parameter.Properties.Value);
      const url = new URL(dcos.bootstrap_url);
      assert.equal(url.protocol, 'https:');
      assert.equal(url.hostname, `${config.bundle.bucket}.s3.${config.region}.amazonaws.com`);
      assert.doesNotMatch(dcos.bootstrap_url, /\/$/, "DC/OS refuses a bootstrap_url ending in '/'");
      const [[, policy]] = resourcesOfType(stacks.Network!, 'AWS::S3::BucketPolicy');
      const read = (policy.Properties.PolicyDocument.Statement as Json[]).find((s) => s.Effect === 'Allow')!;
      assert.equal(read.Resource, `arn:aws:s3:::${config.bundle.bucket}/*`);
      assert.equal(url.pathname, `/${config.bundle.prefix}`);
      assert.equal(policy.Properties.Bucket, config.bundle.bucket);
      assert.deepEqual(stacks.Root!.Rules.Region.Assertions[0].Assert['Fn::Equals'][1], config.region);
    });

    it('resolves through the VPC resolver, and detects addresses with IMDSv2 as the templates require', () => {
      assert.deepEqual(dcos.resolvers, [VPC_RESOLVER]);
      assert.equal(dcos.ip_detect_filename, 'genconf/ip-detect');
      assert.equal(dcos.enable_ipv6, 'false');
      assert.equal(readGenconf(out, readManifest(out), 'ip-detect').toString('utf8'), readFileSync('stacks/genconf/ip-detect', 'utf8'));
      for (const [id, lt] of resourcesOfType(stacks.MasterZone!, 'AWS::EC2::LaunchTemplate')) {
        assert.equal(lt.Properties.LaunchTemplateData.MetadataOptions.HttpTokens, 'required', id);
      }
    });

    it(`${config.availabilityZones > 1 ? 'writes' : 'writes no'} fault-domain-detect for ${config.availabilityZones} Availability Zone(s)`, () => {
      const manifest = parseManifest(out);
      if (config.availabilityZones > 1) {
        assert.equal(dcos.fault_domain_detect_filename, 'genconf/fault-domain-detect');
        assert.equal(readGenconf(out, manifest, 'fault-domain-detect').toString('utf8'), readFileSync('stacks/genconf/fault-domain-detect', 'utf8'));
      } else {
        assert.equal(dcos.fault_domain_detect_filename, undefined);
        assert.equal(manifest.genconf?.['fault-domain-detect'], undefined);
      }
    });

    it('refuses a hand-edited file of genconf/, naming it', () => {
      const file = join(out, 'genconf/config.yaml');
      const text = readFileSync(file, 'utf8');
      writeFileSync(file, text.replace('master_discovery: static', 'master_discovery: master_http_loadbalancer'));
      try {
        assert.throws(() => readManifest(out), /genconf\/config\.yaml changed after synth \(its hash differs from manifest\.json\)/);
      } finally {
        writeFileSync(file, text);
      }
    });
  });
}

describe('genconf config.yaml', () => {
  it('reads back as the values written, a name YAML 1.1 would read as a boolean included', () => {
    for (const name of ['yes', 'off', 'null', 'dcos-2']) {
      const config = defineCluster({ name, bundle: { prefix: 'dcos/2.2.1' } });
      assert.deepEqual(parse(genconfFiles(config)[0]!.content), { ...dcosConfig(config) }, name);
      assert.equal((parse(genconfFiles(config)[0]!.content, { version: '1.1' }) as Json)['cluster_name'], name);
    }
  });
});

describe('genconf in the README', () => {
  it("shows the default cluster's config.yaml exactly as synth writes it", () => {
    const shown = /```yaml\n# out\/genconf\/config\.yaml of the default cluster[^\n]*\n([\s\S]*?)```/.exec(readFileSync('README.md', 'utf8'));
    assert.ok(shown, 'README shows out/genconf/config.yaml');
    const written = genconfFiles(DEFINITIONS['default']!).find((f) => f.name === 'config.yaml')!.content;
    assert.equal(shown[1], written.replace(/^(#[^\n]*\n)+/, ''));
  });
});

describe('genconf programs', () => {
  it('pass shellcheck without a warning', function () {
    if (!shellcheckAvailable) {
      console.log('      notice: shellcheck is not installed (Debian package shellcheck); skipped');
      return this.skip();
    }
    for (const file of ['ip-detect', 'fault-domain-detect']) {
      const check = spawnSync('shellcheck', ['--severity=style', '--format=gcc', `stacks/genconf/${file}`], { encoding: 'utf8' });
      assert.equal(check.status, 0, `${file}:\n${check.stdout}${check.stderr}`);
    }
  });
});
