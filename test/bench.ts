/**
 * `npm run bench`: a benchmark, not a test. Prints medians of cold processes on this machine, beside a bare
 * `node -e 0`, and the size of every template, so a regression shows up as a number, not a flaky test.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile, writeOutput } from '../lib/synth.js';
import defaultCluster from '../stacks/clusters/default.js';
import haCluster from '../stacks/clusters/ha.js';

const CLI = fileURLToPath(new URL('../lib/cli.js', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 9);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median wall time in ms of `node ...args` run `RUNS` times (after one warm-up for the file cache). */
export function timeProcess(args: readonly string[], env: Record<string, string> = {}): number {
  const times: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const start = process.hrtime.bigint();
    const run = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (run.status !== 0) throw new Error(`node ${args.join(' ')} failed: ${run.stderr}`);
    if (i > 0) times.push(ms);
  }
  return median(times);
}

export function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`;
  console.log(line(header));
  for (const r of rows) console.log(line(r));
}

function benchSynth(): void {
  const out = mkdtempSync(join(tmpdir(), 'dcos-cfn-bench-'));
  const bare = timeProcess(['-e', '0']);
  const rows = [['node -e 0', bare.toFixed(1), '1.00×']];
  for (const cluster of ['default', 'ha']) {
    const ms = timeProcess([CLI, 'synth', '--no-audit', '--cluster', cluster, '--out', join(out, cluster)]);
    rows.push([`synth --no-audit --cluster ${cluster}`, ms.toFixed(1), `${(ms / bare).toFixed(2)}×`]);
  }
  rmSync(out, { recursive: true, force: true });
  console.log(`\nCold synth process (compile, checks, write; the audit is timed below), median of ${RUNS} runs (target: within 4× a bare node -e 0)`);
  printTable(['command', 'ms', 'vs bare node'], rows);

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

/** The audit over both definitions' output, as one cold `npm run audit` process (target ~1 s). */
function benchAudit(): void {
  const out = mkdtempSync(join(tmpdir(), 'dcos-cfn-bench-audit-'));
  for (const cluster of ['default', 'ha']) {
    const run = spawnSync(process.execPath, [CLI, 'synth', '--no-audit', '--cluster', cluster, '--out', join(out, cluster)]);
    if (run.status !== 0) throw new Error(`synth --cluster ${cluster} failed: ${run.stderr}`);
  }
  const both = [CLI, 'audit', join(out, 'default'), join(out, 'ha')];
  const cold = timeProcess(both, { DCOS_CFN_CACHE: 'off' });
  const warm = timeProcess(both);
  const full = timeProcess([CLI, 'synth', '--out', join(out, 'audited')], { DCOS_CFN_CACHE: 'off' });
  rmSync(out, { recursive: true, force: true });
  console.log(`\nAudit (exposure, Control Tower rules in one cfn-guard process, our rules), median of ${RUNS} runs`);
  printTable(['command', 'ms'], [
    ['audit <default> <ha>, cold (cfn-guard runs)', cold.toFixed(1)],
    ['audit <default> <ha>, templates unchanged (cfn-guard results cached by content)', warm.toFixed(1)],
    ['synth (default, with its audit), cold', full.toFixed(1)],
  ]);
}

/** Deploys against a moto_server on loopback: the first deploy, and an unchanged redeploy with its calls. */
async function benchDeploy(): Promise<void> {
  const probe = spawnSync('python3', ['-c', 'import moto.server'], { stdio: 'ignore' });
  if (probe.status !== 0) {
    console.log('\nDeploy: skipped (moto is not installed: python3 -c "import moto.server" failed)');
    return;
  }
  Object.assign(process.env, {
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_REGION: 'us-east-1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  });
  const { startMoto, stopMoto } = await import('./moto.js');
  const { measureDeploy } = await import('../lib/deploy/measure.js');
  const { loadTemplates } = await import('../lib/deploy/templates.js');
  const out = mkdtempSync(join(tmpdir(), 'dcos-cfn-bench-deploy-'));
  await writeOutput(compile(defaultCluster), out);
  const moto = await startMoto();
  try {
    // What a user does before the first deploy: the DC/OS bundle in its bucket (npm run bundle).
    const { uploadStandInBundle } = await import('./boot/bundle.js');
    await uploadStandInBundle(out, defaultCluster, moto.endpoint);
    const aws = { endpointUrl: moto.endpoint, region: 'us-east-1' };
    const props = {
      templates: loadTemplates(out),
      stackName: 'bench',
      parameters: { KeyName: 'ops', NodeImageId: 'ami-12345678', GatewayImageId: 'ami-0abcdef1234567890' },
      endpointUrl: moto.endpoint,
      confirm: async () => true,
      print: () => {},
      pollMs: 20,
      eventPollMs: 20,
    };
    const first = await measureDeploy(aws, props);
    const again = await measureDeploy(aws, props);
    console.log('\nDeploy of the default cluster against moto_server on loopback (target for the unchanged redeploy: 3 reads + 1 per stack policy, 0 writes, < 1 s)');
    printTable(['run', 'result', 'ms', 'reads', 'writes', 'calls'], [
      ['first deploy', first.result.kind, first.milliseconds.toFixed(0), String(first.readCalls), String(first.writeCalls), JSON.stringify(first.calls)],
      ['unchanged redeploy', again.result.kind, again.milliseconds.toFixed(0), String(again.readCalls), String(again.writeCalls), JSON.stringify(again.calls)],
    ]);
  } finally {
    await stopMoto(moto);
    rmSync(out, { recursive: true, force: true });
  }
}

benchSynth();
benchAudit();
await benchDeploy();
