import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkTemplates, compile, writeOutput, type CompiledTemplate } from '../lib/synth.js';
import { readManifest, sha256, templateKey } from '../lib/manifest.js';
import { defineCluster } from '../stacks/config.js';
import defaultCluster from '../stacks/clusters/default.js';
import { definitionCode, withDefinition } from './helpers/definition.js';
import { DEFINITIONS } from './helpers/template.js';
import { tempFolders } from './helpers/temp.js';

const CLI = join(process.cwd(), 'dist/lib/cli.js');
const tmp = tempFolders('dcos-cfn-synth-');
const synth = (...args: string[]) => spawnSync(process.execPath, [CLI, 'synth', ...args], { encoding: 'utf8' });

describe('synth', () => {
  it('writes the root, four nested stacks and a manifest whose hashes match the files', () => {
    const dir = tmp();
    const run = synth('--out', dir);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(readdirSync(dir).sort(), ['.dcos-cfn-synth', 'agents.yaml', 'genconf', 'manifest.json', 'master-zone.yaml', 'network.yaml', 'root.yaml', 'vpn.yaml']);
    const manifest = readManifest(dir);
    assert.deepEqual(readdirSync(join(dir, 'genconf')).sort(), ['config.yaml', 'ip-detect']);
    for (const [name, hash] of Object.entries(manifest.genconf ?? {})) assert.equal(hash, sha256(readFileSync(join(dir, 'genconf', name))), name);
    assert.deepEqual(Object.keys(manifest.genconf ?? {}).sort(), ['config.yaml', 'ip-detect']);
    assert.equal(statSync(join(dir, 'genconf/ip-detect')).mode & 0o111, 0o111, 'ip-detect is executable');
    assert.equal(manifest.root, 'root.yaml');
    assert.deepEqual(Object.keys(manifest.stacks), ['Network', 'MasterZone', 'Agents', 'Vpn']);
    const root = readFileSync(join(dir, 'root.yaml'), 'utf8');
    for (const [id, entry] of Object.entries(manifest.stacks)) {
      assert.equal(entry.sha256, sha256(readFileSync(join(dir, entry.file))), id);
      assert.ok(root.includes(`TemplateURL: !Sub \${TemplateBaseUrl}/${templateKey(entry.file, entry.sha256)}\n`), `${id} URL carries its hash`);
    }
    assert.match(run.stdout, /Synthesized cluster 'dcos'/);
    assert.match(run.stdout, /Network\s+network\.yaml\s+\d+\s+[\d,]+/);
    rmSync(dir, { recursive: true });
  });

  it('is byte-identical across processes', () => {
    const [a, b] = [tmp(), tmp()];
    for (const dir of [a, b]) assert.equal(synth('--cluster', 'ha', '--out', dir).status, 0);
    const files = readdirSync(a, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(a, f)).isFile());
    assert.ok(files.includes('genconf/fault-domain-detect'), files.join(' '));
    for (const f of files) assert.ok(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), f);
    rmSync(a, { recursive: true });
    rmSync(b, { recursive: true });
  });

  it('keeps an unchanged child at the same URL when another child changes', () => {
    const before = compile(defaultCluster);
    const after = compile(defineCluster({ name: 'dcos', privateAgents: { count: 7 } }));
    const url = (c: typeof before, id: string) => JSON.stringify((c.root.template.Resources[id]!.Properties as { TemplateURL: unknown }).TemplateURL);
    assert.equal(url(before, 'Network'), url(after, 'Network'));
    assert.equal(url(before, 'Vpn'), url(after, 'Vpn'));
    assert.notEqual(url(before, 'Agents'), url(after, 'Agents'));
  });

  it('names the unknown cluster and lists the known ones, without a stack trace', () => {
    const run = synth('--cluster', 'nope', '--out', tmp());
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^error: Unknown cluster 'nope'\. Known clusters: default, ha\./);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
  });

  it('rejects an unknown option with a pointer to --help', () => {
    const run = synth('--clusters', 'ha');
    assert.equal(run.status, 2);
    assert.match(run.stderr, /Unknown option '--clusters'\. Did you mean --cluster\?\n.*npm run synth -- --help/);
  });

  it('explains its options in --help', () => {
    const run = synth('--help');
    assert.equal(run.status, 0);
    assert.match(run.stdout, /^Usage: npm run synth -- \[--cluster NAME\] \[--out DIR\] \[--no-audit\]$/m);
    assert.match(run.stdout, /--cluster NAME.*known: default, ha/);
    assert.match(run.stdout, /--out DIR/);
  });

  it('leaves the output folder exactly as it was when a check fails', async () => {
    const dir = previousOutput();
    await assert.rejects(writeOutput(compile(defaultCluster), dir, async () => Promise.reject(new Error('audit found problems'))), /audit found problems/);
    assert.deepEqual(readdirSync(dir).sort(), ['.dcos-cfn-synth', 'root.yaml']);
    assert.equal(readFileSync(join(dir, 'root.yaml'), 'utf8'), 'previous output');
    assert.deepEqual(readdirSync(join(dir, '..')).filter((f) => f.startsWith(`.${dir.split('/').pop()}.`)), [], 'no staging folder left');
    rmSync(dir, { recursive: true });
  });

  it('replaces an output folder it wrote when everything passes, and marks the new one', async () => {
    const dir = previousOutput();
    writeFileSync(join(dir, 'agents.yaml'), 'old');
    await writeOutput(compile(defaultCluster), dir);
    assert.deepEqual(readdirSync(dir).sort(), ['.dcos-cfn-synth', 'agents.yaml', 'genconf', 'manifest.json', 'master-zone.yaml', 'network.yaml', 'root.yaml', 'vpn.yaml']);
    assert.notEqual(readFileSync(join(dir, 'agents.yaml'), 'utf8'), 'old');
    rmSync(dir, { recursive: true });
  });

  it("refuses to replace an output whose genconf/ holds what dcos_generate_config.sh wrote there, naming it", async () => {
    const dir = tmp();
    await writeOutput(compile(defaultCluster), dir);
    execFileSync('mkdir', ['-p', join(dir, 'genconf/serve'), join(dir, 'genconf/state')]);
    await assert.rejects(writeOutput(compile(defaultCluster), dir), /holds 'genconf\/serve', 'genconf\/state', which synth did not write and would delete: move them out/);
    assert.deepEqual(readdirSync(join(dir, 'genconf')).sort(), ['config.yaml', 'ip-detect', 'serve', 'state']);
    rmSync(dir, { recursive: true });
  });

  it('leaves out/ untouched when the definition is invalid (CLI)', async () => {
    const run = await synthUserDefinition('broken-test', "{ name: 'broken-test', masters: { count: 2 }, vpn: { port: 0 } }");
    assert.equal(run.status, 1);
    assert.match(run.stderr, /error: Cluster definition 'broken-test' is invalid:\n\s+- masters\.count: got 2, expected 1, 3 or 5/);
    assert.match(run.stderr, /- vpn\.port: got 0/);
    assert.deepEqual(run.outAfter, ['.dcos-cfn-synth', 'root.yaml']);
  });

  it('fails on an audit finding and leaves out/ untouched (CLI)', async () => {
    // m5 masters are Nitro but do not encrypt traffic between instances: Control Tower CT.EC2.PR.19.
    const run = await synthUserDefinition('audit-test', "{ name: 'audit-test', masters: { instanceType: 'm5.xlarge' } }");
    assert.equal(run.status, 1);
    assert.match(run.stderr, /error: The audit found 1 problem\(s\) in the synthesized templates; nothing was written:\n\s+- CT\.EC2\.PR\.19 MasterZone\/Master1: /);
    assert.deepEqual(run.outAfter, ['.dcos-cfn-synth', 'root.yaml']);
  });
});

/** An output folder a previous synth wrote (marker and a root template whose text is 'previous output'). */
function previousOutput(dir = tmp()): string {
  writeFileSync(join(dir, '.dcos-cfn-synth'), 'marker');
  writeFileSync(join(dir, 'root.yaml'), 'previous output');
  return dir;
}

/** Synthesizes a user-added definition into an out/ that holds a previous output. */
async function synthUserDefinition(name: string, definition: string) {
  const dir = tmp();
  const out = join(dir, 'out');
  execFileSync('mkdir', ['-p', out]);
  previousOutput(out);
  try {
    return await withDefinition(name, definitionCode(definition), () => {
      const run = spawnSync(process.execPath, [CLI, 'synth', '--cluster', name, '--out', out], { encoding: 'utf8' });
      return { status: run.status, stderr: run.stderr, outAfter: readdirSync(out).sort() };
    });
  } finally {
    rmSync(dir, { recursive: true });
  }
}

describe('synth checks', () => {
  const base = compile(defaultCluster);
  const withChild = (id: string, change: (t: Record<string, any>) => void): CompiledTemplate[] =>
    base.children.map((c) => {
      if (c.id !== id) return c;
      const template = JSON.parse(JSON.stringify(c.template));
      change(template);
      return { ...c, template };
    });

  it('every AllowedPattern is a pattern JavaScript reads, so deploy checks each value before CloudFormation does', () => {
    let patterns = 0;
    for (const config of Object.values(DEFINITIONS)) {
      const { root, children } = compile(config);
      for (const t of [root, ...children]) {
        for (const [name, p] of Object.entries((t.template.Parameters ?? {}) as Record<string, { AllowedPattern?: string }>)) {
          if (p.AllowedPattern === undefined) continue;
          patterns++;
          assert.doesNotThrow(() => new RegExp(`^(?:${p.AllowedPattern})$`, 'u'), `${t.id}.${name}: ${p.AllowedPattern}`);
        }
      }
    }
    assert.ok(patterns > 5, `${patterns} patterns`);
  });

  it('passes for both shipped definitions', () => {
    for (const config of Object.values(DEFINITIONS)) {
      const c = compile(config);
      assert.deepEqual(checkTemplates(c.root, c.children), { errors: [], warnings: [] });
    }
  });

  it('reports a parameter passed to a child that the child does not declare', () => {
    const children = withChild('Vpn', (t) => delete t.Parameters.KeyArn);
    assert.deepEqual(checkTemplates(base.root, children).errors, ['Vpn: parameter KeyArn is passed by the root but not declared by vpn.yaml']);
  });

  it('reports a required child parameter the root does not pass', () => {
    const children = withChild('Agents', (t) => (t.Parameters.Extra = { Type: 'String' }));
    assert.deepEqual(checkTemplates(base.root, children).errors, ['Agents: required parameter Extra (no default) is not passed by the root']);
  });

  it('reports an output the root reads but the child does not have, all problems together', () => {
    const children = withChild('Network', (t) => {
      delete t.Outputs.VpcId;
      delete t.Outputs.KeyArn;
    });
    const { errors } = checkTemplates(base.root, children);
    assert.ok(errors.includes('Network: the root reads Outputs.VpcId, which network.yaml does not output'));
    assert.ok(errors.includes('Network: the root reads Outputs.KeyArn, which network.yaml does not output'));
  });

  it("fails on user data that may exceed EC2's 16 KB limit, so synth --no-audit keeps it too", () => {
    const longer = withChild('MasterZone', (t) => {
      const sub = t.Resources.Master1.Properties.UserData['Fn::Base64']['Fn::Sub'];
      sub[0] = `${sub[0]}\n# ${'x'.repeat(8_000)}`;
    });
    const [error, ...rest] = checkTemplates(base.root, longer).errors;
    assert.deepEqual(rest, []);
    assert.match(error!, /^MasterZone: Master1 user data may reach [\d,]+ bytes before base64 encoding, over EC2's limit of 16,384: [\d,]+ bytes of text plus, at their longest, 2 × Ref BundleUrl \(2,048 bytes: AWS::SSM::Parameter values are assumed no longer than an ARN\)/);
  });

  it('fails over a CloudFormation limit and warns at 80%', () => {
    const many = (n: number) => (t: Record<string, any>) => {
      for (let i = 0; i < n; i++) t.Resources[`Extra${i}`] = { Type: 'AWS::SNS::Topic' };
    };
    const over = checkTemplates(base.root, withChild('Vpn', many(500)));
    const own = Object.keys(base.children.find((c) => c.id === 'Vpn')!.template.Resources).length;
    assert.ok(over.errors.includes(`Vpn: ${own + 500} resources in vpn.yaml, over CloudFormation's limit of 500`), over.errors.join('\n'));
    const near = checkTemplates(base.root, withChild('Vpn', many(400)));
    assert.deepEqual(near.errors, []);
    assert.ok(near.warnings.includes(`Vpn: ${own + 400} resources in vpn.yaml, ${Math.round(((own + 400) * 100) / 500)}% of CloudFormation's limit of 500`), near.warnings.join('\n'));
  });
});
