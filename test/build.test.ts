/**
 * The commands run from the sources with no build step (bin/dcos-cfn.mjs, lib/build.ts): only what changed
 * is transpiled, a definition is type-checked when it changed, and its type errors block only it. Each test
 * works on a copy of the project (sources, tsconfig.json, package.json; node_modules linked), never on this
 * one's dist/.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
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

/** What a definition's build leaves: its module and source map (tsgo only checks it; esbuild transpiles it). */
const definitionOutputs = (name: string) => [`stacks/clusters/${name}.js`, `stacks/clusters/${name}.js.map`];

/** Files under `dist/stacks/clusters/` of the copy. */
const builtDefinitions = (project: string) => readdirSync(join(project, 'dist/stacks/clusters'));

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

  it('after an edit of one definition, rebuilds that definition alone', () => {
    assert.equal(cli('synth', '--no-audit', '--cluster', 'ha', '--out', 'out-ha').status, 0);
    const before = distTimes(project);
    const ha = join(project, 'stacks/clusters/ha.ts');
    writeFileSync(ha, readFileSync(ha, 'utf8').replace("name: 'dcos-ha'", "name: 'dcos-ha2'"));
    const run = cli('synth', '--no-audit', '--cluster', 'ha', '--out', 'out-ha');
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(changed(before, distTimes(project)).sort(), definitionOutputs('ha'));
    assert.match(readFileSync(join(project, 'out-ha/root.yaml'), 'utf8'), /dcos-ha2/);
    assert.deepEqual(builtDefinitions(project).filter((f) => f.includes('unchecked')), [], 'the checked copy became its module');
    const again = cli('synth', '--no-audit', '--cluster', 'ha', '--out', 'out-ha');
    assert.equal(again.status, 0, again.stderr);
    assert.deepEqual(changed(before, distTimes(project)).sort(), definitionOutputs('ha'), 'checked once: the next command loads it as built');
  });

  it('blocks a definition with a type error, naming file:line:column, and only it: other clusters and commands run', () => {
    const staging = join(project, 'stacks/clusters/staging.ts');
    writeFileSync(staging, definitionCode("{\n  name: 'staging',\n  masters: { count: 'three' },\n}"));
    try {
      const broken = cli('synth', '--cluster', 'staging', '--out', 'out-staging');
      assert.equal(broken.status, 1);
      assert.match(broken.stderr, /^error: stacks\/clusters\/staging\.ts does not compile; fix it and run the command again \(other clusters are not affected\):\n  - stacks\/clusters\/staging\.ts:4:14 Type 'string' is not assignable to type 'number'\. \(TS2322\)/);
      assert.doesNotMatch(broken.stderr, /\n\s+at /, 'no stack trace');
      assert.ok(!builtDefinitions(project).some((f) => f.includes('staging.')), 'nothing of it left to load');
      assert.ok(!existsSync(join(project, 'out-staging')), 'nothing written');
      assert.deepEqual(readdirSync(project).filter((f) => f.includes('out-staging')), [], 'no staging folder left');

      const other = cli('synth', '--no-audit', '--cluster', 'ha', '--out', 'out-ha');
      assert.equal(other.status, 0, other.stderr);
      const audit = cli('audit', 'out-ha');
      assert.equal(audit.status, 0, audit.stderr);
    } finally {
      rmSync(staging);
    }
  });

  it('reports the type error, not the failure it causes when the definition runs meanwhile', () => {
    const staging = join(project, 'stacks/clusters/staging.ts');
    writeFileSync(staging, definitionCode("{\n  name: 'staging',\n  masters: { count: mastersWanted },\n}"));
    try {
      const broken = cli('synth', '--cluster', 'staging', '--out', 'out-staging');
      assert.equal(broken.status, 1);
      assert.match(broken.stderr, /^error: stacks\/clusters\/staging\.ts does not compile; .*\n  - stacks\/clusters\/staging\.ts:4:21 Cannot find name 'mastersWanted'\. \(TS2304\)/);
      assert.doesNotMatch(broken.stderr, /ReferenceError|failed to load/);
      assert.ok(!builtDefinitions(project).some((f) => f.includes('staging.')));
    } finally {
      rmSync(staging);
    }
  });

  it('removes the unchecked copy a stopped command left, and never loads it as the definition', () => {
    const left = join(project, 'dist/stacks/clusters/.ha.4194303.unchecked.js');
    writeFileSync(left, 'throw new Error("a copy left by a stopped command");\n');
    utimesSync(left, new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
    appendFileSync(join(project, 'stacks/clusters/ha.ts'), '\n// edited again\n');
    const run = cli('synth', '--no-audit', '--cluster', 'ha', '--out', 'out-ha');
    assert.equal(run.status, 0, run.stderr);
    assert.ok(!existsSync(left));
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
