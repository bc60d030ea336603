/**
 * The robustness corpus, offline part: the real CLI as a subprocess over bad output folders, bad definitions,
 * a tampered out/, bad flags and interrupted synths. Each case asserts the exit code, a message pattern, that
 * no stack trace was printed, and the project and out/ as they must be afterwards. (The AWS part, against
 * moto_server through a fault-injecting proxy, is test/robustness-aws.test.ts.)
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256 } from '../lib/manifest.js';
import { PROJECT_DIR } from '../lib/build.js';
import { definitionCode, withDefinition } from './helpers/definition.js';
import { emulatorEnv, expectRun, processesMarked, runCli, startCli, type CliResult } from './helpers/cli.js';
import { tempFolders } from './helpers/temp.js';
import { writeCluster } from './moto-fixtures.js';

const tmp = tempFolders('dcos-robust-');

/** A fingerprint of the project's sources: a refused synth must leave it exactly as it was. */
function projectFingerprint(): string {
  const files = ['package.json', 'README.md', 'stacks/config.ts', 'stacks/validate.ts', 'stacks/clusters/default.ts', 'lib/synth.ts', 'lib/cli.ts'];
  return files.map((f) => `${f}:${sha256(readFileSync(join(PROJECT_DIR, f)))}`).join('\n') + `\n${readdirSync(PROJECT_DIR).sort().join(',')}\n${readdirSync(join(PROJECT_DIR, 'stacks')).sort().join(',')}`;
}

/** An output folder written by a previous synth, holding a recognisable root.yaml. */
function previousOutput(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, '.dcos-cfn-synth'), 'marker');
  writeFileSync(join(dir, 'root.yaml'), 'previous output');
  return dir;
}

describe('robustness: synth never deletes what it did not write', () => {
  let before: string;
  beforeEach(() => (before = projectFingerprint()));
  afterEach(() => assert.equal(projectFingerprint(), before, 'the project changed'));

  const refusals: [string, string[], number, RegExp][] = [
    ['the project folder', ['--out', '.'], 2, /--out \. is the project folder: synth replaces its output folder whole, and would delete the project/],
    ['a folder that contains the project', ['--out', '..'], 2, /--out \.\. is a folder that contains the project/],
    ['the file system root', ['--out', '/'], 2, /--out \/ is a folder that contains the project/],
    ['the definitions folder', ['--out', 'stacks'], 2, /--out stacks exists and was not written by synth \(it has no \.dcos-cfn-synth marker\)/],
    ['a folder inside the sources', ['--out', 'stacks/clusters/out'], 2, /--out stacks\/clusters\/out is inside the project's stacks\/, which synth did not write/],
    ['the compiled code', ['--out', 'dist'], 2, /--out dist exists and was not written by synth/],
    ['a file', ['--out', 'README.md'], 2, /--out README\.md is a file, not a folder: synth writes a folder there and will not replace it/],
  ];
  for (const [what, args, status, message] of refusals) {
    it(`refuses ${what} (${args.join(' ')})`, async () => {
      expectRun(await runCli(['synth', '--no-audit', ...args]), status, message);
      assert.ok(statSync(join(PROJECT_DIR, 'README.md')).isFile());
    });
  }

  it('refuses a folder it did not write, leaving its files', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    expectRun(await runCli(['synth', '--no-audit', '--out', dir]), 2, /exists and was not written by synth.*Pass a new or empty folder/);
    assert.deepEqual(readdirSync(dir), ['notes.txt']);
    rmSync(dir, { recursive: true });
  });

  it('refuses an output folder that holds a file synth did not write, naming it', async () => {
    const dir = previousOutput(join(tmp(), 'out'));
    writeFileSync(join(dir, 'params.json'), '[]');
    expectRun(await runCli(['synth', '--no-audit', '--out', dir]), 2, /holds 'params\.json', which synth did not write and would delete: move it out/);
    assert.deepEqual(readdirSync(dir).sort(), ['.dcos-cfn-synth', 'params.json', 'root.yaml']);
    rmSync(join(dir, '..'), { recursive: true });
  });

  it("removes diagram's and package's files made from the previous templates, and says so", async () => {
    const parent = tmp();
    const out = previousOutput(join(parent, 'out'));
    writeFileSync(join(out, 'architecture.svg'), '<svg/>');
    mkdirSync(join(out, 'packaged'));
    writeFileSync(join(out, 'packaged', 'root.yaml'), 'packaged root');
    writeFileSync(join(out, 'packaged', `network-${'a'.repeat(64)}.yaml`), 'packaged network');
    const run = await runCli(['synth', '--no-audit', '--out', out]);
    expectRun(run, 0, /^Removed with the previous templates, which they were made from: .*\/out\/architecture\.svg, .*\/out\/packaged\/\. Run 'npm run diagram' and 'npm run package' to make them from these\.$/m);
    assert.ok(!existsSync(join(out, 'architecture.svg')) && !existsSync(join(out, 'packaged')));
    expectRun(await runCli(['synth', '--no-audit', '--out', out]), 0, /Synthesized/);
    rmSync(parent, { recursive: true });
  });

  it("refuses a file of the user's inside packaged/, naming it, and changes nothing", async () => {
    const parent = tmp();
    const out = previousOutput(join(parent, 'out'));
    mkdirSync(join(out, 'packaged'));
    writeFileSync(join(out, 'packaged', 'root.yaml'), 'packaged root');
    writeFileSync(join(out, 'packaged', 'notes.txt'), 'mine');
    expectRun(await runCli(['synth', '--no-audit', '--out', out]), 2, /holds 'packaged\/notes\.txt', which synth did not write and would delete: move it out/);
    assert.deepEqual(readdirSync(join(out, 'packaged')).sort(), ['notes.txt', 'root.yaml']);
    assert.equal(readFileSync(join(out, 'root.yaml'), 'utf8'), 'previous output');
    rmSync(parent, { recursive: true });
  });

  it('refuses an output inside another synth output, which the next synth of that one would delete', async () => {
    const parent = tmp();
    const out = previousOutput(join(parent, 'out'));
    expectRun(await runCli(['synth', '--no-audit', '--out', join(out, 'sub')]), 2, /--out .*\/out\/sub is inside .*\/out\/, another synth output: synthesizing that one again replaces it whole and would delete this one\. Pass a folder of its own, beside it\./);
    assert.deepEqual(readdirSync(out).sort(), ['.dcos-cfn-synth', 'root.yaml']);
    // One made before this check is named as what it is.
    previousOutput(join(out, 'sub'));
    expectRun(await runCli(['synth', '--no-audit', '--out', out]), 2, /holds 'sub' \(another synth output\), which synth did not write and would delete/);
    rmSync(parent, { recursive: true });
  });

  it('refuses a symbolic link', async () => {
    const dir = tmp();
    execFileSync('ln', ['-s', PROJECT_DIR, join(dir, 'link')]);
    expectRun(await runCli(['synth', '--no-audit', '--out', join(dir, 'link')]), 2, /is the project folder|is a symbolic link/);
    rmSync(dir, { recursive: true });
  });

  it('refuses a path through a file', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'file'), 'x');
    expectRun(await runCli(['synth', '--no-audit', '--out', join(dir, 'file', 'out')]), 2, /--out .*\/file\/out: a part of the path \(.*\/file\) is a file, not a folder/);
    rmSync(dir, { recursive: true });
  });

  it('reports a read-only output folder in one line and leaves it as it was', async function () {
    const dir = tmp();
    const out = previousOutput(join(dir, 'ro'));
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', dir]).status === 0;
    if (!mounted) {
      rmSync(dir, { recursive: true });
      this.skip(); // needs root (mount); CI runs as root
    }
    try {
      expectRun(await runCli(['synth', '--no-audit', '--out', join(dir, 'sub', 'out')]), 1, /Cannot write the output folder .*the file system is read-only \(EROFS/);
      assert.deepEqual(readdirSync(dir), []);
    } finally {
      spawnSync('umount', [dir]);
      rmSync(dir, { recursive: true });
    }
    assert.ok(!existsSync(out));
  });

  it('replaces a folder it wrote, and an empty one', async () => {
    const parent = tmp();
    const out = previousOutput(join(parent, 'out'));
    expectRun(await runCli(['synth', '--no-audit', '--out', out]), 0, /Synthesized cluster 'dcos'/);
    assert.notEqual(readFileSync(join(out, 'root.yaml'), 'utf8'), 'previous output');
    assert.deepEqual(readdirSync(parent), ['out'], 'no staging folder left');
    const empty = join(parent, 'empty');
    mkdirSync(empty);
    expectRun(await runCli(['synth', '--no-audit', '--out', empty]), 0, /Synthesized/);
    rmSync(parent, { recursive: true });
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`an interrupted synth (${signal} during the audit) leaves out/ as it was and no staging folder`, async () => {
      const parent = tmp();
      const out = previousOutput(join(parent, 'out'));
      // The audit's cache off: cfn-guard then takes seconds, a window the signal cannot miss.
      const run = startCli(['synth', '--out', out], { timeoutMs: 90_000, env: { ...process.env, DCOS_CFN_CACHE: 'off' } });
      const staging = `.out.synth-${run.child.pid}`;
      for (let i = 0; i < 600 && !existsSync(join(parent, staging, 'manifest.json')); i++) await new Promise((r) => setTimeout(r, 25));
      run.child.kill(signal);
      const result = await run.done;
      expectRun(result, 130, new RegExp(`Interrupted \\(${signal}\\)\\.\\n  Removed the unfinished output; .*out/ is as it was\\.`));
      assert.deepEqual(readdirSync(parent), ['out']);
      assert.equal(readFileSync(join(out, 'root.yaml'), 'utf8'), 'previous output');
      rmSync(parent, { recursive: true });
    });
  }

  it('sweeps the staging folder a killed synth left, and keeps what is not its own', async () => {
    const parent = tmp();
    const out = previousOutput(join(parent, 'out'));
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout;
    previousOutput(join(parent, `.out.synth-${dead}`));
    mkdirSync(join(parent, '.out.synth-1')); // pid 1 runs; not ours to remove
    mkdirSync(join(parent, `.out.old-${dead}x`)); // not the pattern
    expectRun(await runCli(['synth', '--no-audit', '--out', out]), 0, /Synthesized/);
    assert.deepEqual(readdirSync(parent).sort(), ['.out.old-' + dead + 'x', '.out.synth-1', 'out']);
    rmSync(parent, { recursive: true });
  });
});

describe('robustness: Ctrl-C leaves no temporary folder and no process behind (through the launcher)', () => {
  const MARK = 'DCOS_CFN_TEST_RUN';

  interface Interrupted {
    readonly result: CliResult;
    /** Every process the run started, by PID: its command name. */
    readonly started: ReadonlyMap<number, string>;
    /** Those still in the process table after the run ended (running, or exited and never reaped). */
    readonly survivors: readonly { readonly pid: number; readonly command: string }[];
    /** What is left in the run's own temporary folder (TMPDIR). */
    readonly leftovers: readonly string[];
  }

  /**
   * Runs the CLI through the launcher with a temporary folder of its own and a mark in its environment that every
   * process it starts inherits; sends SIGINT once a process named `moment.child` runs, or `moment.afterMs` after
   * the start.
   */
  async function interrupt(args: readonly string[], moment: { readonly child?: string; readonly afterMs?: number }, env: NodeJS.ProcessEnv = {}): Promise<Interrupted> {
    const temp = tmp('dcos-robust-tmp-');
    const mark = `${process.pid}-${Date.now()}-${Math.random()}`;
    const run = startCli(args, { launcher: true, timeoutMs: 90_000, env: { ...process.env, ...env, TMPDIR: temp, [MARK]: mark } });
    let ended = false;
    void run.done.then(() => (ended = true));
    const started = new Map<number, string>();
    const since = Date.now();
    while (!ended) {
      for (const p of processesMarked(MARK, mark)) if (p.pid !== run.child.pid) started.set(p.pid, p.command);
      if (moment.child ? [...started.values()].includes(moment.child) : Date.now() - since >= (moment.afterMs ?? 0)) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    run.child.kill('SIGINT');
    const result = await run.done;
    await new Promise((r) => setTimeout(r, 100)); // a child killed with its parent would be gone by now
    const survivors = processesMarked(MARK, mark, [...started.keys()]);
    const leftovers = readdirSync(temp);
    rmSync(temp, { recursive: true, force: true });
    return { result, started, survivors, leftovers };
  }

  it('during the type check of a changed definition: tsgo stopped, its folder removed, nothing half-built kept, exit 130', async () => {
    const parent = tmp();
    await withDefinition('interrupt-test', definitionCode("{ name: 'interrupt-test' }"), async () => {
      const run = await interrupt(['synth', '--cluster', 'interrupt-test', '--no-audit', '--out', join(parent, 'out')], { child: 'tsgo' });
      assert.ok([...run.started.values()].includes('tsgo'), `interrupted before tsgo started:\n${run.result.output}`);
      expectRun(run.result, 130, /^\nInterrupted \(SIGINT\)\.$/m);
      assert.deepEqual(run.leftovers, [], 'temporary folders left');
      assert.deepEqual(run.survivors, [], 'processes left');
      assert.ok(!existsSync(join(PROJECT_DIR, 'dist', 'stacks', 'clusters', 'interrupt-test.js')), 'a definition output tsgo may have half written');
    }, { compiled: false });
    assert.deepEqual(readdirSync(parent), []);
    rmSync(parent, { recursive: true });
  });

  it('while the launcher transpiles a changed source: esbuild stopped and reaped, the Interrupted line, exit 130', async () => {
    const source = join(PROJECT_DIR, 'lib', 'suggest.ts');
    const now = new Date();
    utimesSync(source, now, now); // newer than its dist/ output: the launcher transpiles it (the same code)
    const run = await interrupt(['synth', '--no-audit', '--out', join(tmp(), 'out')], { child: 'esbuild' });
    assert.ok([...run.started.values()].includes('esbuild'), `interrupted before esbuild started:\n${run.result.output}`);
    expectRun(run.result, 130, /^Interrupted \(SIGINT\)\. Nothing was left to undo\.$/m);
    assert.deepEqual(run.survivors, [], 'processes left');
    assert.deepEqual(run.leftovers, [], 'temporary folders left');
    assert.ok(statSync(join(PROJECT_DIR, 'dist', 'lib', 'suggest.js')).mtimeMs >= statSync(source).mtimeMs, 'the transpile finished before the launcher stopped');
  });

  it('during the audit: every cfn-guard stopped and reaped, its folder removed, out/ as it was, exit 130', async () => {
    const parent = tmp();
    const out = previousOutput(join(parent, 'out'));
    const run = await interrupt(['synth', '--out', out], { child: 'cfn-guard' }, { DCOS_CFN_CACHE: 'off' });
    assert.ok([...run.started.values()].includes('cfn-guard'), `interrupted before cfn-guard started:\n${run.result.output}`);
    expectRun(run.result, 130, /Interrupted \(SIGINT\)\.\n  Removed the unfinished output; .*out\/ is as it was\./);
    assert.deepEqual(run.leftovers, [], 'temporary folders left');
    assert.deepEqual(run.survivors, [], 'processes left');
    assert.deepEqual(readdirSync(parent), ['out']);
    assert.equal(readFileSync(join(out, 'root.yaml'), 'utf8'), 'previous output');
    rmSync(parent, { recursive: true });
  });

  it('at any moment from the start to the end: the Interrupted line and exit 130 (or done), never a leftover', async function () {
    this.timeout(300_000);
    const outcomes: string[] = [];
    for (const afterMs of [150, 300, 450, 700, 1000, 1500]) {
      const parent = tmp();
      await withDefinition('interrupt-test', definitionCode("{ name: 'interrupt-test' }"), async () => {
        const run = await interrupt(['synth', '--cluster', 'interrupt-test', '--out', join(parent, 'out')], { afterMs }, { DCOS_CFN_CACHE: 'off' });
        const at = `SIGINT at ${afterMs} ms (${[...new Set(run.started.values())].join(', ') || 'no child yet'})`;
        assert.deepEqual(run.leftovers, [], `${at}: temporary folders left`);
        assert.deepEqual(run.survivors, [], `${at}: processes left`);
        if (run.result.signal === 'SIGINT') {
          outcomes.push(`${afterMs}: stopped before any JavaScript ran`); // Node's own start-up: nothing to undo, nothing printed
        } else if (run.result.status === 0) {
          expectRun(run.result, 0, /Synthesized cluster 'interrupt-test'/);
          outcomes.push(`${afterMs}: finished first`);
        } else {
          expectRun(run.result, 130, /^Interrupted \(SIGINT\)\.( Nothing was left to undo\.)?$/m);
          assert.ok(!existsSync(join(parent, 'out')), `${at}: a half-written output`);
          outcomes.push(`${afterMs}: interrupted`);
        }
      }, { compiled: false });
      rmSync(parent, { recursive: true, force: true });
    }
    assert.ok(outcomes.some((o) => o.endsWith('interrupted')), outcomes.join('; '));
  });
});

describe('robustness: definitions are checked at run time', () => {
  const cases: [string, string, RegExp][] = [
    [
      'a typo passed through a variable',
      "import { defineCluster } from '../config.js';\nconst extra = { privateAgent: { count: 50 } };\nexport default defineCluster({ name: 'typo-test', ...extra });\n",
      /stacks\/clusters\/typo-test\.ts does not export a valid cluster definition:\n\s+- privateAgent: unknown key \(did you mean privateAgents\?\); it would be ignored, leaving the default in place/,
    ],
    [
      'a nested typo',
      definitionCode("{ name: 'typo-test', masters: { count: 3, instanceTyp: 'm6i.large' } }"),
      /- masters\.instanceTyp: unknown key \(did you mean instanceType\?\)/,
    ],
    ['a count that is NaN', definitionCode("{ name: 'typo-test', masters: { count: NaN } }"), /- masters\.count: got NaN, expected a finite number/],
    ['a count that is Infinity', definitionCode("{ name: 'typo-test', privateAgents: { count: Infinity } }"), /- privateAgents\.count: got Infinity, expected a finite number/],
    ['a number given as a string', definitionCode("{ name: 'typo-test', vpn: { port: '443' } }"), /- vpn\.port: got a string \("443"\), expected a number/],
    ['a definition that throws', "throw new Error('boom: the table is missing');\n", /stacks\/clusters\/typo-test\.ts failed to load: Error: boom: the table is missing\. Fix the definition/],
    ['a definition that skips defineCluster', definitionCode("{ name: 'typo-test' }", { define: false }), /the default export lacks description, region, bundle, availabilityZones, .*: a definition must 'export default defineCluster\(\{\.\.\.\}\)'/],
    ['a default export that is not an object', definitionCode("'typo-test'", { define: false }), /the default export: got a string \("typo-test"\), expected a cluster definition/],
    ['no default export', "export const cluster = 1;\n", /the default export: got nothing, expected a cluster definition/],
  ];
  for (const [what, code, message] of cases) {
    it(`reports ${what} with its file, and writes nothing`, async () => {
      const out = join(tmp(), 'out');
      const run = await withDefinition('typo-test', code, () => runCli(['synth', '--cluster', 'typo-test', '--out', out]));
      expectRun(run, 1, message);
      assert.ok(!existsSync(out));
      rmSync(join(out, '..'), { recursive: true });
    });
  }

  it("reports the definition's shape and value problems together, in one run", async () => {
    const out = join(tmp(), 'out');
    const code = "import { defineCluster } from '../config.js';\nconst extra = { privateAgent: { count: 50 } };\nexport default defineCluster({ name: 'typo-test', ...extra, masters: { count: 2 }, subnets: { public: ['10.1.0.0/24'] } });\n";
    const run = await withDefinition('typo-test', code, () => runCli(['synth', '--cluster', 'typo-test', '--out', out]));
    expectRun(run, 1, /^error: stacks\/clusters\/typo-test\.ts does not export a valid cluster definition:\n {2}- privateAgent: unknown key \(did you mean privateAgents\?\)[^\n]*\n {2}- masters\.count: got 2, expected 1, 3 or 5 \(a ZooKeeper quorum\)\n {2}- subnets\.public\[0\]: got "10\.1\.0\.0\/24", expected a range inside vpcCidr 10\.0\.0\.0\/16$/m);
    assert.ok(!existsSync(out));
    rmSync(join(out, '..'), { recursive: true });
  });

  it('neither lists nor loads a compiled definition whose source is gone', async () => {
    const run = await withDefinition('stale-test', definitionCode("{ name: 'stale-test' }"), async () => ({
      synth: await runCli(['synth', '--cluster', 'stale-test', '--out', join(tmp(), 'out')]),
      help: await runCli(['synth', '--help']),
    }), { source: false });
    expectRun(run.synth, 1, /Unknown cluster 'stale-test'\. Known clusters: default, ha\./);
    assert.doesNotMatch(run.help.stdout, /stale-test/);
  });

  it('suggests the nearest definition for a typo', async () => {
    expectRun(await runCli(['synth', '--cluster', 'defualt', '--out', join(tmp(), 'out')]), 1, /Unknown cluster 'defualt'\. Known clusters: default, ha\. Did you mean default\?/);
  });
});

describe('robustness: deploy and package ship only what synth checked', () => {
  let out: string;
  beforeEach(() => (out = writeCluster()));
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  const manifest = () => JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8'));
  const deploy = () => runCli(['deploy', '--stack-name', 'robust', '--out', out, '--skip-synth-check', '--endpoint-url', 'http://127.0.0.1:9', '--yes']);
  const pack = () => runCli(['package', '--out', out, '--skip-synth-check', '--bucket', 'robust-bucket', '--endpoint-url', 'http://127.0.0.1:9']);

  const tamperings: [string, () => void, RegExp][] = [
    ['a hand-edited root template', () => writeFileSync(join(out, 'root.yaml'), readFileSync(join(out, 'root.yaml'), 'utf8') + '# edited\n'), /root\.yaml changed after synth \(its hash differs from manifest\.json\): refusing to use a template that was not checked/],
    ['a hand-edited nested template', () => writeFileSync(join(out, 'logs.yaml'), readFileSync(join(out, 'logs.yaml'), 'utf8').replace('30', '31')), /logs\.yaml changed after synth/],
    ['a manifest that is null', () => writeFileSync(join(out, 'manifest.json'), 'null'), /manifest\.json holds null, not a synth manifest/],
    ['a manifest that is an array', () => writeFileSync(join(out, 'manifest.json'), '[]'), /manifest\.json holds an array, not a synth manifest/],
    ['a manifest that is not JSON', () => writeFileSync(join(out, 'manifest.json'), '{"root": '), /manifest\.json is not valid JSON/],
    ['a manifest from before the root was hashed', () => writeFileSync(join(out, 'manifest.json'), JSON.stringify({ ...manifest(), rootSha256: undefined })), /- rootSha256: got undefined, expected the root template's hex SHA-256/],
    ['a manifest that points outside the folder', () => writeFileSync(join(out, 'manifest.json'), JSON.stringify({ ...manifest(), stacks: { Network: { file: '../../etc/passwd', sha256: 'x' } } })), /- stacks\.Network\.file: got "\.\.\/\.\.\/etc\/passwd", expected a template file name in the folder/],
    ['a missing template', () => rmSync(join(out, 'network.yaml')), /names network\.yaml for stack Network, but the file is missing/],
  ];
  for (const [what, tamper, message] of tamperings) {
    it(`refuses ${what}, in deploy and in package, before any AWS call`, async () => {
      tamper();
      expectRun(await deploy(), 1, message);
      expectRun(await pack(), 1, message);
    });
  }
});

describe('robustness: deploy, diff and package refuse an out/ whose own sources changed, and nothing else', () => {
  let parent: string;
  let out: string;
  before(async () => {
    parent = tmp();
    out = join(parent, 'out');
    expectRun(await runCli(['synth', '--no-audit', '--out', out]), 0, /Synthesized cluster 'dcos'/);
  });
  after(() => rmSync(parent, { recursive: true, force: true }));

  // Nothing answers on port 9: a command that passed the check stops at its first AWS call, naming the endpoint.
  const commands = () => ({
    diff: ['diff', '--stack-name', 'fresh', '--out', out, '--endpoint-url', 'http://127.0.0.1:9'],
    package: ['package', '--out', out, '--endpoint-url', 'http://127.0.0.1:9'],
    deploy: ['deploy', '--stack-name', 'fresh', '--out', out, '--endpoint-url', 'http://127.0.0.1:9', '--yes'],
  });
  const PASSED_THE_CHECK = /Nothing answers at http:\/\/127\.0\.0\.1:9/;
  const manifest = () => JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { definition?: string; sources?: Record<string, string> };

  it('records the definition and the sources that made out/: its definition, the compiler, the user data, not other definitions', () => {
    const { definition, sources = {} } = manifest();
    assert.equal(definition, 'default');
    for (const file of ['stacks/clusters/default.ts', 'lib/synth.ts', 'lib/yaml.ts', 'lib/template.ts', 'lib/manifest.ts', 'stacks/network.ts', 'stacks/userdata/common.sh', 'node_modules/yaml/package.json']) {
      assert.match(sources[file] ?? '', /^[0-9a-f]{64}$/, file);
    }
    assert.equal(sources['stacks/clusters/ha.ts'], undefined);
    assert.equal(sources['lib/deploy/deploy.ts'], undefined);
  });

  it('a new or edited definition other than the one in out/ blocks nothing', async () => {
    await withDefinition('unrelated-test', definitionCode("{ name: 'unrelated' }"), async () => {
      for (const args of Object.values(commands())) expectRun(await runCli(args), 1, PASSED_THE_CHECK);
    });
  });

  it('an edit of lib/yaml.ts blocks each of them, naming the file and the synth command to run', async () => {
    const file = join(PROJECT_DIR, 'lib', 'yaml.ts');
    const original = readFileSync(file);
    try {
      writeFileSync(file, Buffer.concat([original, Buffer.from('// an edit after synth\n')]));
      for (const args of Object.values(commands())) {
        expectRun(await runCli(args), 1, new RegExp(`error: ${out}/ is out of date: lib/yaml\\.ts changed since synth wrote it\\. Run 'npm run synth -- --cluster default --out ${out}' first \\(or pass --skip-synth-check to use ${out}/ as it is\\)\\.`));
      }
      expectRun(await runCli([...commands().diff, '--skip-synth-check']), 1, PASSED_THE_CHECK);
    } finally {
      writeFileSync(file, original);
    }
  });

  it('a manifest that records no sources (an older synth) is refused, with what to run', async () => {
    const saved = readFileSync(join(out, 'manifest.json'));
    try {
      const { sources: _sources, ...older } = manifest();
      writeFileSync(join(out, 'manifest.json'), JSON.stringify(older));
      expectRun(await runCli(commands().diff), 1, /manifest\.json records no sources \(an older synth wrote it, or not synth\).*Run 'npm run synth -- --cluster default/);
    } finally {
      writeFileSync(join(out, 'manifest.json'), saved);
    }
  });
});

describe('robustness: flags', () => {
  it('destroy without a terminal and without --yes stops before any AWS call, saying nothing was deleted', async () => {
    expectRun(await runCli(['destroy', '--stack-name', 'prod', '--endpoint-url', 'http://127.0.0.1:9']), 1, /^error: Not a terminal, so no one can confirm: pass --yes to go ahead without asking\. Nothing was deleted\.$/m);
  });

  it('--profile naming a profile the shared files lack says so, with the profiles they hold', async () => {
    const dir = tmp();
    const files = { AWS_CONFIG_FILE: join(dir, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials') };
    writeFileSync(files.AWS_CONFIG_FILE, '[default]\nregion = us-east-1\n\n[profile ops]\nregion = eu-west-1\n');
    writeFileSync(files.AWS_SHARED_CREDENTIALS_FILE, '[ci]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = not-a-secret\n');
    const { AWS_ACCESS_KEY_ID: _id, AWS_SECRET_ACCESS_KEY: _secret, ...env } = emulatorEnv(files); // credentials from the profiles only
    for (const command of [['drift', '--stack-name', 'prod'], ['destroy', '--stack-name', 'prod', '--yes'], ['audit', '--stack-name', 'prod']]) {
      const run = await runCli([...command, '--profile', 'nope', '--endpoint-url', 'http://127.0.0.1:9'], { env });
      expectRun(run, 1, new RegExp(`^error: The AWS profile 'nope' \\(--profile\\) does not exist in ${files.AWS_CONFIG_FILE} or ${files.AWS_SHARED_CREDENTIALS_FILE}; the profiles there are ci, default, ops\\. Check the name, or create it with 'aws configure --profile nope'`, 'm'));
    }
    // Profiles that exist pass: one with credentials reaches the endpoint, one without says that.
    expectRun(await runCli(['drift', '--stack-name', 'prod', '--profile', 'ci', '--endpoint-url', 'http://127.0.0.1:9'], { env }), 1, /Nothing answers at http:\/\/127\.0\.0\.1:9/);
    expectRun(await runCli(['drift', '--stack-name', 'prod', '--profile', 'ops', '--endpoint-url', 'http://127.0.0.1:9'], { env }), 1, /No AWS credentials found \(profile ops\)/);
    rmSync(dir, { recursive: true });
  });

  it('refuses an --endpoint-url that is not a URL', async () => {
    const out = writeCluster();
    expectRun(await runCli(['deploy', '--stack-name', 'x', '--out', out, '--skip-synth-check', '--endpoint-url', 'notaurl', '--yes'], { env: emulatorEnv() }), 2, /--endpoint-url notaurl: expected an http:\/\/ or https:\/\/ URL/);
    rmSync(out, { recursive: true });
  });

  it('prints the audit as JSON that parses, through the README\'s npm command', function () {
    this.timeout(120_000);
    const parent = tmp();
    const out = join(parent, 'out');
    expectRunSync(spawnSync(process.execPath, ['dist/lib/cli.js', 'synth', '--no-audit', '--out', out], { cwd: PROJECT_DIR, encoding: 'utf8' }), 0);
    const run = spawnSync('npm', ['run', '-s', 'audit', '--', '--json', out], { cwd: PROJECT_DIR, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const parsed = JSON.parse(run.stdout) as { findings: unknown[]; exposure: unknown[] };
    assert.deepEqual(parsed.findings, []);
    assert.ok(parsed.exposure.length > 0);
    rmSync(parent, { recursive: true });
  });
});

function expectRunSync(run: { status: number | null; stderr: string }, status: number): void {
  assert.equal(run.status, status, run.stderr);
}

describe('robustness: a closed or failing stdout', () => {
  // A command with something to undo (a deploy's change set, its --follow command) whose stdout goes away.
  const script = (write: string) => `
    import { installInterruptHandlers, onInterrupt } from ${JSON.stringify(join(PROJECT_DIR, 'dist/lib/interrupt.js'))};
    installInterruptHandlers();
    onInterrupt(async () => { console.log('  Deleted change set dcos-cfn-1.'); });
    ${write}
    setTimeout(() => {}, 10_000);
  `;

  it('closed (| head -1): the clean-up runs and what it reports reaches stderr, exit 141', () => {
    const piped = spawnSync('bash', ['-c', `"$0" --input-type=module -e "$1" | head -1; exit \${PIPESTATUS[0]}`, process.execPath, script("for (let i = 0; i < 10000; i++) console.log('line ' + i);")], {
      encoding: 'utf8',
    });
    assert.equal(piped.stdout, 'line 0\n');
    assert.equal(piped.status, 141, piped.stderr);
    assert.match(piped.stderr, /^\nInterrupted \(SIGPIPE\)\.\n {2}Deleted change set dcos-cfn-1\.\n$/);
    assert.doesNotMatch(piped.stderr, /EPIPE|node:events/);
  });

  it('failing (a full disk under > file): the same clean-up, one line naming the fix, exit 1', function () {
    if (!existsSync('/dev/full')) this.skip();
    const run = spawnSync('bash', ['-c', `"$0" --input-type=module -e "$1" > /dev/full; echo "exit $?" >&2`, process.execPath, script("console.log('the report');")], { encoding: 'utf8' });
    assert.match(run.stderr, /^error: cannot write the output \(ENOSPC\): free space on, or fix, what stdout is redirected to, and run the command again\.\n\nInterrupted \(stdout ENOSPC\)\.\n {2}Deleted change set dcos-cfn-1\.\nexit 1\n$/);
  });
});
