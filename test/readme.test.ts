/**
 * The README stays true: every `npm run` command it shows names a real script and only options that command
 * accepts, what it shows synth and the comparison with Mesosphere's template print is what they print, and its
 * example cluster definition synthesizes and passes the audit.
 */
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { withDefinition } from './helpers/definition.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const README = readFileSync('README.md', 'utf8');
const SCRIPTS = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
const CLI = join(process.cwd(), 'dist/lib/cli.js');

const MESOSPHERE = 'reference/mesosphere-1.8.7/multi-master.cloudformation.json';

/** The README's section "Ours beside Mesosphere's", up to the next section. */
function comparisonSection(): string {
  const start = README.indexOf("### Ours beside Mesosphere's");
  assert.ok(start >= 0, "no section Ours beside Mesosphere's");
  return README.slice(start, README.indexOf('\n## ', start));
}

/** The rows of the first Markdown table in `text` (header included, separator line left out), cells trimmed. */
function tableRows(text: string): string[][] {
  const lines = text.split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const end = lines.findIndex((l, i) => i > first && !l.startsWith('|'));
  return lines
    .slice(first, end < 0 ? undefined : end)
    .filter((l) => !/^\|[\s|:-]+\|$/.test(l))
    .map((l) => l.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim()));
}

/** Rule IDs a README row names, `CT.EC2.PR.8/13` standing for CT.EC2.PR.8 and CT.EC2.PR.13. */
function rulesNamed(text: string): string[] {
  return [...text.matchAll(/\b((?:CT|DCOS)\.[A-Z0-9]+(?:\.PR)?)\.(\d+(?:\/\d+)*)/g)].flatMap(([, prefix, numbers]) => numbers!.split('/').map((n) => `${prefix}.${n}`));
}

const firstNumber = (cell: string) => Number(/\d+/.exec(cell)?.[0]);

/** Shell lines of the README's ```sh blocks, comments stripped. */
function shellCommands(): string[] {
  return [...README.matchAll(/```sh\n([\s\S]*?)```/g)]
    .flatMap((m) => m[1]!.split('\n'))
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l.startsWith('npm '));
}

describe('README', () => {
  const commands = shellCommands();

  it('shows the install-and-synth and test commands', () => {
    assert.ok(commands.includes('npm install && npm run synth'));
    assert.ok(commands.includes('npm test'));
  });

  it('names only real npm scripts, with options their commands accept', () => {
    assert.ok(commands.length >= 10, `found ${commands.length} commands`);
    for (const line of commands) {
      for (const part of line.split('&&').map((p) => p.trim())) {
        const run = /^npm run (?:-s )?(\S+)(?: -- (.*))?$/.exec(part);
        if (!run) continue;
        const [, script, args = ''] = run;
        assert.ok(SCRIPTS[script!], `npm run ${script} is no script`);
        const command = /^node bin\/dcos-cfn\.mjs (\w+)/.exec(SCRIPTS[script!]!)?.[1];
        if (!command) continue;
        // Options are parsed before --help is honoured, so an unknown option fails here.
        const result = spawnSync(process.execPath, [CLI, command, ...args.split(/\s+/).filter(Boolean), '--help'], { encoding: 'utf8' });
        assert.equal(result.status, 0, `${part}: ${result.stderr}`);
      }
    }
  });

  describe('on the default cluster synthesized', () => {
    let out: string;
    let synth: SpawnSyncReturns<string>;
    before(() => {
      out = mkdtempSync(join(tmpdir(), 'dcos-readme-synth-'));
      synth = spawnSync(process.execPath, [CLI, 'synth', '--out', out], { encoding: 'utf8' });
    });
    after(() => rmSync(out, { recursive: true, force: true }));

    it('shows exactly what npm run synth prints', () => {
      assert.equal(synth.status, 0, synth.stderr);
      const printed = synth.stdout.replaceAll(`${out}/`, 'out/');
      assert.ok(README.includes(printed.trimEnd()), `README lacks:\n${printed}`);
    });

    it('shows the exposure table npm run audit prints', () => {
      assert.equal(synth.status, 0, synth.stderr);
      const run = spawnSync(process.execPath, [CLI, 'audit', out], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      const exposure = run.stdout.split('\n\nFindings')[0]!.split('\n').filter((l) => l.startsWith('|')).join('\n');
      assert.ok(exposure.length > 0 && README.includes(['On our output it shows:', '', '```', exposure, '```', ''].join('\n')), `README lacks:\n${exposure}`);
    });

    it("shows what the comparison with Mesosphere's template prints: the exposure row for row, every finding grouped with its count", () => {
      assert.equal(synth.status, 0, synth.stderr);
      const run = spawnSync(process.execPath, [CLI, 'audit', out, '--compare', MESOSPHERE], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      const [printedExposure, printedFindings] = run.stdout.split('Findings by rule (resources)').map(tableRows);
      const [exposure, findings] = comparisonSection().split('| Findings (resources) |').map((part, i) => tableRows(i === 0 ? part : `| Findings (resources) |${part}`));

      // Exposure: the README's header names the two sides; every row is the command's, cell for cell.
      assert.deepEqual(exposure!.slice(1), printedExposure!.slice(1));

      // Findings: each README row groups rules; its counts are the sums of the command's per-rule counts.
      const counts = new Map(printedFindings!.slice(1, -1).map(([rule, , ours, theirs]) => [rule!, [Number(ours), Number(theirs)]]));
      const [, , oursTotal, theirsTotal] = printedFindings!.at(-1)!;
      const grouped: string[] = [];
      for (const [group, ours, theirs] of findings!.slice(1, -1)) {
        const rules = rulesNamed(group!);
        assert.ok(rules.length > 0, `no rule named in: ${group}`);
        grouped.push(...rules);
        const sum = (side: 0 | 1) => rules.reduce((n, r) => n + (counts.get(r)?.[side] ?? 0), 0);
        assert.deepEqual([Number(ours), Number(theirs)], [sum(0), sum(1)], group);
      }
      assert.deepEqual(grouped.filter((r) => counts.has(r)).sort(), [...counts.keys()].sort(), 'every rule the command counts is in exactly one group');
      const [, ours, theirs] = findings!.at(-1)!;
      const waivers = /(\d+) waivers/.exec(synth.stdout)![1];
      assert.deepEqual([firstNumber(ours!), firstNumber(theirs!), /(\d+) waivers/.exec(ours!)?.[1]], [Number(oursTotal), Number(theirsTotal), waivers]);
    });
  });

  it('has an example definition that synthesizes and passes the audit', async () => {
    const example = /```ts\n(\/\/ stacks\/clusters\/(\w+)\.ts[^\n]*\n[\s\S]*?)```/.exec(README);
    assert.ok(example, 'no example definition');
    const [, source, name] = example;
    const out = join(mkdtempSync(join(tmpdir(), 'dcos-readme-')), 'out');
    try {
      await withDefinition(name!, source!, () => {
        const result = spawnSync(process.execPath, [CLI, 'synth', '--cluster', name!, '--out', out], { encoding: 'utf8' });
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stdout, /0 findings/);
      });
    } finally {
      rmSync(join(out, '..'), { recursive: true, force: true });
    }
  });
});
