/**
 * `npm run bench`: a benchmark, not a test. Prints medians of cold processes on this machine, beside a bare
 * `node -e 0`, and the size of every template, so a regression shows up as a number, not a flaky test.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from './synth.js';
import defaultCluster from '../stacks/clusters/default.js';
import haCluster from '../stacks/clusters/ha.js';

const CLI = fileURLToPath(new URL('./cli.js', import.meta.url));
const RUNS = Number(process.env.BENCH_RUNS ?? 9);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median wall time in ms of `node ...args` run `RUNS` times (after one warm-up for the file cache). */
export function timeProcess(args: readonly string[]): number {
  const times: number[] = [];
  for (let i = 0; i <= RUNS; i++) {
    const start = process.hrtime.bigint();
    const run = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
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
    const ms = timeProcess([CLI, 'synth', '--cluster', cluster, '--out', join(out, cluster)]);
    rows.push([`synth --cluster ${cluster}`, ms.toFixed(1), `${(ms / bare).toFixed(2)}×`]);
  }
  rmSync(out, { recursive: true, force: true });
  console.log(`\nCold synth process, median of ${RUNS} runs (target: within 4× a bare node -e 0)`);
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

benchSynth();
