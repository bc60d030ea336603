/**
 * `npm run bench`: a benchmark, not a test. Times each command as a user runs it — the whole command behind
 * its npm script (`node bin/dcos-cfn.mjs <command>`, npm's own start-up excluded) — as medians of cold
 * processes, each beside a bare `node -e 0` timed in the same rounds (one bare run before every command run),
 * so load from other work on the machine shows in both. A regression shows up as a number, not a flaky test.
 *
 * `BENCH_RUNS` (default 9) sets the runs per row. `DCOS_CFN_BENCH_CDK=DIR` adds the AWS CDK comparison: DIR
 * holds a node_modules with aws-cdk-lib, constructs and @cdklabs/cdk-validator-cfnguard (not a dependency of
 * this project; `npm install` them in any folder).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readManifest } from '../lib/manifest.js';
import { compile, writeOutput } from '../lib/synth.js';
import defaultCluster from '../stacks/clusters/default.js';
import haCluster from '../stacks/clusters/ha.js';

const PROJECT = fileURLToPath(new URL('../../', import.meta.url));
const RUNS = Math.max(1, Number(process.env['BENCH_RUNS'] ?? 9));
const SCRIPTS = (JSON.parse(readFileSync(join(PROJECT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const AWS_ENV = {
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_REGION: 'us-east-1',
};

/** The command behind `npm run <script>` as argv, `node` being this Node: `npm run synth -- a` → node bin/dcos-cfn.mjs synth a. */
export function scriptCommand(script: string, ...args: string[]): string[] {
  const words = SCRIPTS[script]?.split(' ');
  if (!words || words[0] !== 'node' || words.some((w) => w === '&&')) throw new Error(`npm run ${script} is not a single node command: ${SCRIPTS[script]}`);
  return [process.execPath, ...words.slice(1), ...args];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Runs `npm run <script> -- args` once, untimed (set-up); throws with its stderr if it fails. */
function runScript(script: string, ...args: string[]): void {
  const [node, ...rest] = scriptCommand(script, ...args);
  const run = spawnSync(node!, rest, { cwd: PROJECT });
  if (run.status !== 0) throw new Error(`npm run ${script} -- ${args.join(' ')} failed: ${run.stderr}`);
}

function timeOnce(argv: readonly string[], env: Record<string, string> = {}): number {
  const start = process.hrtime.bigint();
  const run = spawnSync(argv[0]!, argv.slice(1), { cwd: PROJECT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (run.status !== 0) throw new Error(`${argv.slice(1).join(' ')} failed (exit ${run.status}): ${run.stderr}`);
  return ms;
}

interface Timing {
  readonly ms: number;
  readonly bare: number;
}

/** A command to time: its argv, environment, and what to do before each run, untimed (an edit, say). */
interface Timed {
  readonly argv: readonly string[];
  readonly env?: Record<string, string>;
  readonly before?: () => void;
}

/**
 * Median wall times over RUNS rounds, after one warm-up round (file cache). Each round runs a bare
 * `node -e 0`, then every command once, so commands compared with each other meet the same load.
 */
export function timeRounds(commands: readonly Timed[]): Timing[] {
  const bare: number[] = [];
  const times = commands.map((): number[] => []);
  for (let i = 0; i <= RUNS; i++) {
    const b = timeOnce([process.execPath, '-e', '0']);
    const round = commands.map((c) => {
      c.before?.();
      return timeOnce(c.argv, c.env);
    });
    if (i > 0) {
      bare.push(b);
      round.forEach((t, j) => times[j]!.push(t));
    }
  }
  return times.map((t) => ({ ms: median(t), bare: median(bare) }));
}

/** `timeRounds` for one command. */
export const timeBeside = (argv: readonly string[], env: Record<string, string> = {}, before?: () => void): Timing =>
  timeRounds([{ argv, env, ...(before ? { before } : {}) }])[0]!;

/**
 * CPU seconds (user + system) of one run of a command and every process it waited for (cfn-guard, tsgo), as
 * bash's `times` reports its children; the median of `runs` runs, each after `before`. On a shared 2-core
 * machine the wall time of a command that keeps both cores busy follows its CPU seconds more than its
 * parallelism, so the CPU budget explains the wall times.
 */
export function cpuSeconds(command: Timed, runs = 3): number {
  const seconds: number[] = [];
  for (let i = 0; i < runs; i++) {
    command.before?.();
    const run = spawnSync('bash', ['-c', '"$@" >/dev/null 2>&1 || exit 99; times', 'bash', ...command.argv], { cwd: PROJECT, encoding: 'utf8', env: { ...process.env, ...command.env } });
    if (run.status !== 0) throw new Error(`${command.argv.slice(1).join(' ')} failed (exit ${run.status})`);
    // `times`: the shell's user and system time, then its children's: `0m1.234s 0m0.056s`.
    const children = run.stdout.trim().split('\n')[1] ?? '';
    const [user, system] = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
    if (user === undefined || system === undefined) throw new Error(`no CPU times from bash: ${run.stdout}`);
    seconds.push(user + system);
  }
  return median(seconds);
}

export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`;
  console.log(line(header));
  for (const r of rows) console.log(line(r));
}

const row = (what: string, t: Timing): string[] => [what, t.ms.toFixed(0), t.bare.toFixed(0), `${(t.ms / t.bare).toFixed(2)}×`];
const HEADER = ['command (as npm run runs it)', 'ms', 'bare node ms', 'vs bare node'];

let edits = 0;

/**
 * A user's edit of the ha definition, as a new definition `stacks/clusters/bench-edit.ts`: ha with a name never
 * used before on every call, so every template changes and no cache can answer; removed by `remove`.
 */
function editableDefinition() {
  const file = join(PROJECT, 'stacks/clusters/bench-edit.ts');
  const source = readFileSync(join(PROJECT, 'stacks/clusters/ha.ts'), 'utf8');
  if (!source.includes("name: 'dcos-ha'")) throw new Error("stacks/clusters/ha.ts no longer has name: 'dcos-ha'; update the bench");
  const remove = () => {
    for (const path of [file, join(PROJECT, 'dist/stacks/clusters/bench-edit.js'), join(PROJECT, 'dist/stacks/clusters/bench-edit.js.map')]) rmSync(path, { force: true });
  };
  process.on('exit', remove);
  return {
    name: 'bench-edit',
    edit: () => writeFileSync(file, source.replace("name: 'dcos-ha'", `name: 'dcos-${Date.now().toString(36)}-${++edits}'`)),
    remove,
  };
}

function benchSynth(out: string): void {
  const definition = editableDefinition();
  try {
    const unchanged = timeBeside(scriptCommand('synth', '--out', join(out, 'default')));
    const unchangedNoAudit = timeBeside(scriptCommand('synth', '--no-audit', '--out', join(out, 'default')));
    const edited = timeBeside(scriptCommand('synth', '--cluster', definition.name, '--out', join(out, 'edited')), {}, definition.edit);
    // Proof that the edit changes every template: two consecutive edits share no template hash.
    const first = readManifest(join(out, 'edited'));
    definition.edit();
    runScript('synth', '--cluster', definition.name, '--out', join(out, 'edited'));
    const second = readManifest(join(out, 'edited'));
    const same = Object.keys(first.stacks).filter((id) => first.stacks[id]!.sha256 === second.stacks[id]!.sha256);
    if (same.length > 0) throw new Error(`the bench's edit left ${same.join(', ')} unchanged; it must change every template`);
    const editedNoAudit = timeBeside(scriptCommand('synth', '--no-audit', '--cluster', definition.name, '--out', join(out, 'edited')), {}, definition.edit);
    console.log(`\nSynth, median of ${RUNS} cold processes (targets: unchanged within 4× bare node; after an edit of the ha definition >= 10× faster than the CDK app with validation, faster than CDK without)`);
    printTable(HEADER, [
      row('synth (default; sources unchanged, audit results cached)', unchanged),
      row('synth --no-audit (default; sources unchanged)', unchangedNoAudit),
      row('synth --cluster ha, right after an edit (tsgo type check, every template new: cold audit)', edited),
      row('synth --no-audit --cluster ha, right after an edit (tsgo type check)', editedNoAudit),
    ]);
  } finally {
    definition.remove();
  }
  for (const [name, config] of [['default', defaultCluster], ['ha', haCluster]] as const) {
    const result = compile(config);
    console.log(`\nTemplates of '${name}'`);
    printTable(
      ['stack', 'resources', 'parameters', 'outputs', 'bytes'],
      [result.root, ...result.children].map((t) => [
        t.file,
        String(Object.keys(t.template.Resources).length),
        String(Object.keys(t.template.Parameters ?? {}).length),
        String(Object.keys(t.template.Outputs ?? {}).length),
        Buffer.byteLength(t.yaml).toLocaleString('en-US'),
      ]),
    );
  }
}

/** The audit over both definitions' output, cold and cached, and cfn-lint over one definition's. */
function benchChecks(out: string): void {
  for (const cluster of ['default', 'ha']) runScript('synth', '--no-audit', '--cluster', cluster, '--out', join(out, cluster));
  const audit = scriptCommand('audit', join(out, 'default'), join(out, 'ha'));
  const rows = [
    row('audit <default> <ha>, cold (DCOS_CFN_CACHE=off: every cfn-guard rule runs)', timeBeside(audit, { DCOS_CFN_CACHE: 'off' })),
    row('audit <default> <ha>, templates unchanged (cfn-guard results cached by content)', timeBeside(audit)),
  ];
  if (spawnSync('cfn-lint', ['--version'], { stdio: 'ignore' }).status === 0) {
    rows.push(row('lint --out <ha> (cfn-lint, one process, 5 templates)', timeBeside(scriptCommand('lint', '--out', join(out, 'ha')))));
  } else {
    console.log('\nlint: skipped (cfn-lint is not installed)');
  }
  console.log(`\nAudit and lint, median of ${RUNS} cold processes`);
  printTable(HEADER, rows);
}

/**
 * The AWS CDK app of the same ha cluster (the 146 resources in 4 nested stacks, brought in as CDK's L1
 * constructs with cloudformation-include), synthesized as CDK does by default (since 2.262 it validates every
 * template against its built-in CloudFormation rules), without that validation (`CDK_VALIDATION=false`, what
 * `cdk synth --no-validation` sets), and with the Control Tower pack as a policy-validation plugin
 * (@cdklabs/cdk-validator-cfnguard: the same rules and binary as our audit).
 */
function benchCdk(out: string, cdkDir: string): void {
  const templates = join(out, 'ha');
  const app = join(cdkDir, 'dcos-cfn-bench-app.mjs');
  writeFileSync(
    app,
    `import { App, Stack } from 'aws-cdk-lib';
import { CfnInclude } from 'aws-cdk-lib/cloudformation-include';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { readFileSync } from 'node:fs';
const dir = ${JSON.stringify(templates)};
const manifest = JSON.parse(readFileSync(dir + '/manifest.json', 'utf8'));
const controlTower = process.argv[2] === 'control-tower';
const app = new App({ outdir: process.argv[3], ...(controlTower ? { policyValidationBeta1: [new CfnGuardValidator()] } : {}) });
const stack = new Stack(app, 'DcosHa');
new CfnInclude(stack, 'Root', {
  templateFile: dir + '/' + manifest.root,
  loadNestedStacks: Object.fromEntries(Object.entries(manifest.stacks).map(([id, s]) => [id, { templateFile: dir + '/' + s.file }])),
});
app.synth();
`,
  );
  const synthDir = mkdtempSync(join(tmpdir(), 'dcos-cfn-bench-cdk-'));
  const definition = editableDefinition();
  try {
    const [ours, oursNoAudit, validated, without, controlTower] = timeRounds([
      { argv: scriptCommand('synth', '--cluster', definition.name, '--out', join(out, 'edited')), before: definition.edit },
      { argv: scriptCommand('synth', '--no-audit', '--cluster', definition.name, '--out', join(out, 'edited')), before: definition.edit },
      { argv: [process.execPath, app, 'default', synthDir] },
      { argv: [process.execPath, app, 'default', synthDir], env: { CDK_VALIDATION: 'false' } },
      { argv: [process.execPath, app, 'control-tower', synthDir] },
    ]);
    console.log(`\nBeside the AWS CDK app of the ha cluster (CfnInclude of the same 5 templates, 146 resources, as CDK L1 constructs; plain JavaScript, so no TypeScript compile), in the same rounds, median of ${RUNS}`);
    printTable(HEADER, [
      row('synth --cluster ha, right after an edit (cold audit)', ours!),
      row('synth --no-audit --cluster ha, right after an edit', oursNoAudit!),
      row("cdk app synth, CDK's default validation (built-in CloudFormation rules)", validated!),
      row('cdk app synth, CDK_VALIDATION=false (no validation)', without!),
      row('cdk app synth, default validation + Control Tower plugin (CfnGuardValidator)', controlTower!),
    ]);
    const times = (a: Timing, b: Timing) => `${(a.ms / b.ms).toFixed(1)}×`;
    console.log(`  synth after an edit: ${times(validated!, ours!)} faster than CDK with its default validation (target >= 10×), ${times(without!, ours!)} faster than CDK without validation (target > 1×), ${times(controlTower!, ours!)} faster than CDK with the same Control Tower rules`);
    console.log(`  synth --no-audit after an edit: ${times(validated!, oursNoAudit!)} faster than CDK with its default validation, ${times(without!, oursNoAudit!)} faster than CDK without`);

    const cpu = [
      cpuSeconds({ argv: scriptCommand('synth', '--cluster', definition.name, '--out', join(out, 'edited')), before: definition.edit }),
      cpuSeconds({ argv: scriptCommand('synth', '--no-audit', '--cluster', definition.name, '--out', join(out, 'edited')), before: definition.edit }),
      cpuSeconds({ argv: [process.execPath, app, 'default', synthDir] }),
      cpuSeconds({ argv: [process.execPath, app, 'default', synthDir], env: { CDK_VALIDATION: 'false' } }),
    ];
    const cores = availableParallelism();
    console.log(`\nCPU seconds (user + system, child processes included), median of 3 runs each, and the least wall time they allow on ${cores} cores`);
    printTable(
      ['command', 'CPU s', `CPU s / ${cores}`],
      ['synth --cluster ha, right after an edit (cold audit)', 'synth --no-audit --cluster ha, right after an edit', "cdk app synth, CDK's default validation", 'cdk app synth, CDK_VALIDATION=false'].map((what, i) => [
        what,
        cpu[i]!.toFixed(2),
        (cpu[i]! / cores).toFixed(2),
      ]),
    );
    console.log(`  10× faster than CDK with its default validation means ${(validated!.ms / 10000).toFixed(2)} s here; synth after an edit needs ${cpu[0]!.toFixed(2)} CPU-s, at least ${(cpu[0]! / cores).toFixed(2)} s on ${cores} cores even with no other load`);
  } finally {
    definition.remove();
    rmSync(synthDir, { recursive: true, force: true });
    rmSync(app, { force: true });
  }
}

/** Deploys against a moto_server on loopback: the first deploy and an unchanged one with their calls, then the no-op command. */
async function benchDeploy(out: string): Promise<void> {
  const probe = spawnSync('python3', ['-c', 'import moto.server'], { stdio: 'ignore' });
  if (probe.status !== 0) {
    console.log('\nDeploy: skipped (moto is not installed: python3 -c "import moto.server" failed)');
    return;
  }
  Object.assign(process.env, AWS_ENV);
  const { startMoto, stopMoto } = await import('./moto.js');
  const { measureDeploy } = await import('./helpers/measure.js');
  const { loadTemplates } = await import('../lib/deploy/templates.js');
  const dir = join(out, 'deploy');
  await writeOutput(compile(defaultCluster), dir);
  const moto = await startMoto();
  try {
    const parameters = { KeyName: 'ops', NodeImageId: 'ami-12345678', GatewayImageId: 'ami-0abcdef1234567890' };
    // What a user does before the first deploy: the DC/OS bundle in its bucket (npm run bundle).
    const { uploadStandInBundle } = await import('./boot/bundle.js');
    await uploadStandInBundle(dir, defaultCluster, moto.endpoint);
    const aws = { endpointUrl: moto.endpoint, region: 'us-east-1' };
    const props = {
      templates: loadTemplates(dir),
      stackName: 'bench',
      parameters,
      endpointUrl: moto.endpoint,
      confirm: async () => true,
      print: () => {},
      pollMs: 20,
      eventPollMs: 20,
    };
    const first = await measureDeploy(aws, props);
    const again = await measureDeploy(aws, props);
    console.log('\nDeploy of the default cluster against moto_server on loopback, in process (target for the unchanged redeploy: 3 reads + 1 per stack policy, 0 writes, < 1 s)');
    printTable(['run', 'result', 'ms', 'reads', 'writes', 'calls'], [
      ['first deploy', first.result.kind, first.milliseconds.toFixed(0), String(first.readCalls), String(first.writeCalls), JSON.stringify(first.calls)],
      ['unchanged redeploy', again.result.kind, again.milliseconds.toFixed(0), String(again.readCalls), String(again.writeCalls), JSON.stringify(again.calls)],
    ]);
    const noOp = timeBeside(scriptCommand('deploy', '--stack-name', 'bench', '--out', dir, '--endpoint-url', moto.endpoint, '--yes'), AWS_ENV);
    console.log(`\nDeploy, nothing changed ("No changes"), median of ${RUNS} cold processes`);
    printTable(HEADER, [row('deploy --stack-name bench --endpoint-url <moto> --yes', noOp)]);
    await benchLiveAudit(moto.endpoint, props.stackName);
  } finally {
    await stopMoto(moto);
  }
}

/** The live audit of the deployed stack (in process, timed), and its read calls by kind: each is one batch call unless AWS has none. */
async function benchLiveAudit(endpointUrl: string, stackName: string): Promise<void> {
  const { auditLive } = await import('../lib/audit/live/audit.js');
  const started = performance.now();
  const result = await auditLive({ stackName, aws: { endpointUrl, region: 'us-east-1' } });
  const ms = performance.now() - started;
  const calls = Object.entries(result.calls).sort(([a], [b]) => a.localeCompare(b));
  console.log(`\nLive audit of the deployed default cluster (npm run audit -- --stack-name): ${result.verdict}, ${ms.toFixed(0)} ms, ${calls.reduce((n, [, c]) => n + c, 0)} read calls`);
  printTable(['call', 'count'], calls.map(([action, n]) => [action, String(n)]));
}

const out = mkdtempSync(join(tmpdir(), 'dcos-cfn-bench-'));
try {
  console.log(`Node ${process.version}, ${RUNS} runs per row (+1 warm-up), load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(2)).join(' ')} at start`);
  benchSynth(out);
  benchChecks(out);
  const cdkDir = process.env['DCOS_CFN_BENCH_CDK'];
  if (cdkDir && existsSync(join(cdkDir, 'node_modules', 'aws-cdk-lib'))) benchCdk(out, cdkDir);
  else console.log('\nCDK comparison: skipped (set DCOS_CFN_BENCH_CDK to a folder whose node_modules has aws-cdk-lib, constructs and @cdklabs/cdk-validator-cfnguard)');
  await benchDeploy(out);
} finally {
  rmSync(out, { recursive: true, force: true });
}
