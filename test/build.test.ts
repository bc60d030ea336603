/**
 * The commands run from the sources with no build step (bin/dcos-cfn.mjs, lib/build.ts): only what changed
 * is transpiled, a definition is type-checked when it changed, and its type errors block only it. Each test
 * works on a copy of the project (sources, tsconfig.json, package.json; node_modules linked), never on this
 * one's dist/.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { definitionCode } from './helpers/definition.js';

/** Modification time of every file under `dist/` of the copy, by path. */
function distTimes(project: string): Record<string, number> {
  const dist = join(project, 'dist');
  return Object.fromEntries(
    (readdirSync(dist, { recursive: true }) as string[])
      .filter((f) => statSync(join(dist, f)).isFile())
      .sort()
      .map((f) => [f, statSync(join(dist, f)).mtimeMs]),
  );
}

/** What tsgo emits with a definition: it, and the library files its type check reads (stacks/config.ts imports cidr.ts). */
const definitionOutputs = (name: string) =>
  [`stacks/clusters/${name}.js`, 'stacks/config.js', 'stacks/cidr.js'].flatMap((f) => [f, `${f}.map`]).sort();

/** The files whose modification time differs between two `distTimes` (added ones included). */
const changed = (before: Record<string, number>, after: Record<string, number>) =>
  Object.keys(after).filter((f) => before[f] !== after[f]);

describe('running commands from the sources (bin/dcos-cfn.mjs)', function () {
  let project: string;
  const cli = (...args: string[]) => spawnSync(process.execPath, [join(project, 'bin/dcos-cfn.mjs'), ...args], { cwd: project, encoding: 'utf8' });

  before(() => {
    project = mkdtempSync(join(tmpdir(), 'dcos-cfn-build-'));
    for (const path of ['bin', 'lib', 'stacks', 'tsconfig.json', 'package.json']) cpSync(path, join(project, path), { recursive: true });
    symlinkSync(join(process.cwd(), 'node_modules'), join(project, 'node_modules'));
  });
  after(() => rmSync(project, { recursive: true, force: true }));

  it('builds, in a fresh copy, the library and the one definition the command loads: no tests, no other cluster', () => {
    const run = cli('synth', '--no-audit', '--out', 'out');
    assert.equal(run.status, 0, run.stderr);
    const built = Object.keys(distTimes(project));
    assert.ok(built.includes('lib/cli.js') && built.includes('lib/synth.js') && built.includes('stacks/network.js'), built.join(' '));
    assert.ok(built.includes('stacks/clusters/default.js'));
    assert.ok(!built.includes('stacks/clusters/ha.js'), 'ha is not built until a command loads it');
    assert.ok(!built.some((f) => f.startsWith('test/')));
  });

  it('builds nothing when no source changed', () => {
    const before = distTimes(project);
    assert.equal(cli('synth', '--no-audit', '--out', 'out').status, 0);
    assert.deepEqual(changed(before, distTimes(project)), []);
  });

  it('after an edit of one definition, rebuilds that definition alone (with the two library files tsgo emits beside it)', () => {
    assert.equal(cli('synth', '--no-audit', '--cluster', 'ha', '--out', 'out-ha').status, 0);
    const before = distTimes(project);
    const ha = join(project, 'stacks/clusters/ha.ts');
    writeFileSync(ha, readFileSync(ha, 'utf8').replace("name: 'dcos-ha'", "name: 'dcos-ha2'"));
    const run = cli('synth', '--no-audit', '--cluster', 'ha', '--out', 'out-ha');
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(changed(before, distTimes(project)).sort(), definitionOutputs('ha'));
    assert.match(readFileSync(join(project, 'out-ha/root.yaml'), 'utf8'), /dcos-ha2/);
  });

  it('blocks a definition with a type error, naming file:line:column, and only it: other clusters and commands run', () => {
    const staging = join(project, 'stacks/clusters/staging.ts');
    writeFileSync(staging, definitionCode("{\n  name: 'staging',\n  masters: { count: 'three' },\n}"));
    try {
      const broken = cli('synth', '--cluster', 'staging', '--out', 'out-staging');
      assert.equal(broken.status, 1);
      assert.match(broken.stderr, /^error: stacks\/clusters\/staging\.ts does not compile; fix it and run the command again \(other clusters are not affected\):\n  - stacks\/clusters\/staging\.ts:4:14 Type 'string' is not assignable to type 'number'\. \(TS2322\)/);
      assert.doesNotMatch(broken.stderr, /\n\s+at /, 'no stack trace');
      assert.ok(!readdirSync(join(project, 'dist/stacks/clusters')).some((f) => f.startsWith('staging.')), 'nothing of it left to load');

      const other = cli('synth', '--no-audit', '--cluster', 'ha', '--out', 'out-ha');
      assert.equal(other.status, 0, other.stderr);
      const audit = cli('audit', 'out-ha');
      assert.equal(audit.status, 0, audit.stderr);
    } finally {
      rmSync(staging);
    }
  });

  it('checks a definition as pure data: the environment (Node, the browser) is not in scope', () => {
    const staging = join(project, 'stacks/clusters/staging.ts');
    writeFileSync(staging, definitionCode("{\n  name: 'staging',\n  masters: { count: Number(process.env.MASTERS ?? document.title) },\n}"));
    try {
      const broken = cli('synth', '--no-audit', '--cluster', 'staging', '--out', 'out-staging');
      assert.equal(broken.status, 1);
      assert.match(broken.stderr, /staging\.ts:4:28 Cannot find name 'process'/);
      assert.match(broken.stderr, /staging\.ts:4:51 Cannot find name 'document'/);
    } finally {
      rmSync(staging);
    }
  });

  it('re-checks a definition after its library changed, and rebuilds only the changed library file', () => {
    const before = distTimes(project);
    appendFileSync(join(project, 'stacks/names.ts'), '\n// edited\n');
    const run = cli('synth', '--no-audit', '--cluster', 'ha', '--out', 'out-ha');
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(changed(before, distTimes(project)).sort(), [...definitionOutputs('ha'), 'stacks/names.js', 'stacks/names.js.map'].sort());
  });

  it('stops every command on a syntax error in the library, naming file:line:column, without a stack trace', () => {
    const file = join(project, 'lib/args.ts');
    const original = readFileSync(file, 'utf8');
    writeFileSync(file, `${original}\nexport const broken = ;\n`);
    try {
      const run = cli('audit', 'out-ha');
      assert.equal(run.status, 1);
      assert.match(run.stderr, /^error: the sources do not compile:\n  - lib\/args\.ts:\d+:\d+ Unexpected ";"/);
      assert.doesNotMatch(run.stderr, /\n\s+at /);
    } finally {
      writeFileSync(file, original);
    }
  });
});
