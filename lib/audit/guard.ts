/**
 * The AWS Control Tower proactive controls, run with cfn-guard. Both ship in
 * `@cdklabs/cdk-validator-cfnguard`: the static binary under `bin/<os>/<arch>/cfn-guard`, the rules under
 * `rules/control-tower/cfn-guard` with one metadata file each.
 *
 * cfn-guard's cost is per rule it parses (a rule with a list of instance-type patterns takes ~0.1 s), not per
 * template, so each template is checked only with the rules whose evaluated resource types occur in it, each
 * rule is parsed once, and the rules are split into groups run by parallel cfn-guard processes, one per core
 * (`planGroups`).
 * Results are cached by content (the template and the rule files that apply to it).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, availableParallelism, platform, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readCache, writeCache } from '../cache.js';
import { UserError } from '../errors.js';
import { onInterrupt, stopOnInterrupt } from '../interrupt.js';
import { sha256 } from '../manifest.js';
import type { Finding } from './finding.js';
import type { Stack } from './load.js';

/** One Control Tower rule: its guard file and what its metadata says. */
export interface ControlTowerRule {
  /** `CT.EC2.PR.13`. */
  readonly id: string;
  readonly title: string;
  readonly guardFile: string;
  readonly resourceTypes: readonly string[];
}

const PACKAGE = '@cdklabs/cdk-validator-cfnguard';

function packageDir(): string {
  return dirname(createRequire(import.meta.url).resolve(`${PACKAGE}/package.json`));
}

/** The cfn-guard binary for this machine, as the package lays it out (`ubuntu` stands for all Linux). */
export function guardBinary(): string {
  const os = platform() === 'linux' ? 'ubuntu' : platform() === 'darwin' ? 'macos' : undefined;
  const cpu = arch() === 'x64' ? 'x86_64' : arch() === 'arm64' ? 'aarch64' : undefined;
  if (!os || !cpu) throw new UserError(`cfn-guard from ${PACKAGE} has no binary for ${platform()}/${arch()} (only Linux and macOS on x64 or arm64).`);
  return join(packageDir(), 'bin', os, cpu, 'cfn-guard');
}

let rulesCache: ControlTowerRule[] | undefined;

/**
 * Every Control Tower rule of the pack, read from its 237 metadata files, or from the index kept in the
 * cache for this copy and version of the package.
 */
export function controlTowerRules(): ControlTowerRule[] {
  if (rulesCache) return rulesCache;
  const dir = packageDir();
  const version = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  const indexFile = `rules-${sha256(`${dir}\n${version}`).slice(0, 16)}`;
  rulesCache = readCache<ControlTowerRule[]>('guard', indexFile);
  if (rulesCache) return rulesCache;
  const root = join(dir, 'rules', 'control-tower');
  rulesCache = readdirSync(join(root, 'cfn-guard')).flatMap((service) =>
    readdirSync(join(root, 'cfn-guard', service))
      .filter((f) => f.endsWith('.guard'))
      .map((f) => {
        const metadata = JSON.parse(
          readFileSync(join(root, 'metadata', service, f.replace(/\.guard$/, '.metadata.json')), 'utf8'),
        ) as { Id: string; DisplayName: string; EvaluatedResourceTypes: string[] };
        return { id: metadata.Id, title: metadata.DisplayName, guardFile: join(root, 'cfn-guard', service, f), resourceTypes: metadata.EvaluatedResourceTypes };
      }),
  );
  writeCache('guard', indexFile, rulesCache);
  return rulesCache;
}

/** One entry of cfn-guard's `--structured` JSON output: the results for one `--data` file. */
interface GuardFileResult {
  readonly name: string;
  readonly not_compliant?: readonly unknown[];
}

/** A distinct template to check (a template nested twice, or identical in two sets, is checked once). */
interface Unit {
  readonly json: string;
  readonly stacks: Stack[];
  readonly rules: readonly ControlTowerRule[];
  readonly cacheKey: string;
  notCompliant: unknown[];
  dataFile?: string;
}

/** A rule to run, with the templates it applies to, its estimated cost and its count of `/regex/` patterns. */
interface RuleRun {
  readonly rule: ControlTowerRule;
  readonly units: Unit[];
  readonly cost: number;
  readonly patterns: number;
}

/**
 * Rules with this many patterns or more are the instance-type rules (CT.EC2.PR.15/16/19,
 * CT.AUTOSCALING.PR.10/11), whose ~100-pattern lists cost the most; run in one process they cost ~20% less
 * CPU in all than spread over several (measured on the ha templates), as if cfn-guard reused their work.
 */
const PATTERN_HEAVY = 50;

/**
 * The cfn-guard processes to run, one per core: the pattern-heavy rules together, the others split by cost
 * over the remaining cores (all cores when there is no heavy rule).
 */
export function planGroups<T extends { readonly cost: number; readonly patterns: number }>(runs: readonly T[], cores: number): T[][] {
  const heavy = runs.filter((r) => r.patterns >= PATTERN_HEAVY);
  const rest = runs.filter((r) => r.patterns < PATTERN_HEAVY);
  if (heavy.length === 0) return splitRules(rest, cores);
  return [heavy, ...splitRules(rest, Math.max(1, cores - 1))].filter((g) => g.length > 0);
}

/**
 * Splits rule runs into at most `groups` groups of about equal cost, costliest first (longest processing time
 * first). A rule's cost grows with its patterns (cfn-guard parses each `/regex/` slowly) and its templates.
 */
export function splitRules<T extends { readonly cost: number }>(runs: readonly T[], groups: number): T[][] {
  const bins = Array.from({ length: Math.max(1, Math.min(groups, runs.length)) }, () => ({ cost: 0, runs: [] as T[] }));
  for (const run of [...runs].sort((a, b) => b.cost - a.cost)) {
    const bin = bins.reduce((min, b) => (b.cost < min.cost ? b : min));
    bin.runs.push(run);
    bin.cost += run.cost;
  }
  return bins.map((b) => b.runs).filter((r) => r.length > 0);
}

/** Runs cfn-guard once; resolves with its parsed JSON, or rejects with a UserError saying why it failed. */
function runGuard(args: readonly string[]): Promise<GuardFileResult[]> {
  // Loaded here (synchronously, so the process starts before the caller goes on): an audit answered from the
  // cache starts no process, and child_process costs ~10 ms to load.
  const { spawn } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(guardBinary(), [...args, '--output-format', 'json', '--show-summary', 'none', '--structured'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const release = stopOnInterrupt(child);
    child.on('exit', release);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new UserError(`cfn-guard could not be started (${(e as NodeJS.ErrnoException).code ?? e.message}): ${guardBinary()}. Run 'npm ci' to reinstall ${PACKAGE}.`)));
    child.on('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8');
      // 0: all compliant, 19: some not compliant, 20: all skipped. Anything else is cfn-guard failing.
      if (code === null || ![0, 19, 20].includes(code)) {
        const detail = (Buffer.concat(err).toString('utf8') || stdout).trim().slice(0, 2000);
        reject(new UserError(`cfn-guard failed (exit ${code ?? signal}): ${detail}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout) as GuardFileResult[]);
      } catch {
        reject(new UserError(`cfn-guard printed no JSON result (exit ${code}): ${stdout.slice(0, 500)}`));
      }
    });
  });
}

/** Runs `tasks` with at most `limit` running at once; rejects with the first failure after all have ended. */
async function pool<T>(tasks: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  const settled = await Promise.allSettled(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return results;
}

/** Checks the units that missed the cache: each needed rule parsed once, the groups run in parallel. */
async function checkUnits(units: readonly Unit[], ruleText: (r: ControlTowerRule) => string): Promise<void> {
  const byRule = new Map<ControlTowerRule, Unit[]>();
  for (const unit of units) for (const rule of unit.rules) byRule.set(rule, [...(byRule.get(rule) ?? []), unit]);
  const runs: RuleRun[] = [...byRule].map(([rule, ruleUnits]) => {
    const patterns = ruleText(rule).match(/\/\^/g)?.length ?? 0;
    return { rule, units: ruleUnits, patterns, cost: (8 + patterns) * ruleUnits.length };
  });
  const cores = availableParallelism();
  const groups = planGroups(runs, cores);
  const dir = mkdtempSync(join(tmpdir(), 'dcos-audit-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const release = onInterrupt(removeDir); // runs after the cfn-guard processes are stopped (handlers run newest first)
  try {
    units.forEach((unit, i) => {
      unit.dataFile = join(dir, `${i}-${unit.stacks[0]!.name.replace(/[^\w.-]+/g, '_')}.json`);
      // cfn-guard reads the long-form JSON, not YAML: it takes a short-form `!GetAtt A.B` for a string,
      // where the rules expect `Fn::GetAtt: [A, B]`.
      writeFileSync(unit.dataFile, unit.json);
    });
    const byData = new Map(units.map((u) => [u.dataFile!, u]));
    const results = await pool(
      groups.map((group) => () => {
        const data = [...new Set(group.flatMap((run) => run.units.map((u) => u.dataFile!)))];
        return runGuard(['validate', ...group.flatMap((run) => ['--rules', run.rule.guardFile]), ...data.flatMap((d) => ['--data', d])]);
      }),
      cores,
    );
    for (const fileResult of results.flat()) byData.get(fileResult.name)?.notCompliant.push(...(fileResult.not_compliant ?? []));
  } finally {
    release();
    removeDir();
  }
  for (const unit of units) writeCache('guard', unit.cacheKey, { not_compliant: unit.notCompliant });
}

/** `[CT.EC2.PR.13]: ...\n[FIX]: Set 'Monitoring' to 'true'.` → the ID and the fix. */
function controlMessage(entry: unknown): { id?: string; fix?: string } {
  const text = JSON.stringify(entry);
  const id = /\[(CT\.[A-Z0-9]+\.PR\.\d+)\]/.exec(text)?.[1];
  const fix = /\[FIX\]: ((?:[^"\\]|\\.)*?)(?:\\n|")/.exec(text)?.[1]?.replace(/\\'/g, "'").replace(/\\"/g, '"').trim();
  return { ...(id ? { id } : {}), ...(fix ? { fix } : {}) };
}

/**
 * Runs the Control Tower rules over the stacks' templates and returns a finding per rule and resource.
 * Each distinct template gets the rules whose resource types occur in it; results come from the cache
 * where the template and those rules are unchanged, from parallel cfn-guard processes otherwise.
 */
export async function runControlTower(stacks: readonly Stack[]): Promise<Finding[]> {
  const all = controlTowerRules();
  const texts = new Map<string, string>();
  const ruleText = (r: ControlTowerRule) => texts.get(r.guardFile) ?? texts.set(r.guardFile, readFileSync(r.guardFile, 'utf8')).get(r.guardFile)!;
  const units = new Map<string, Unit>();
  for (const stack of stacks) {
    const json = JSON.stringify(stack.template);
    const known = units.get(json);
    if (known) {
      known.stacks.push(stack);
      continue;
    }
    const types = new Set(Object.values(stack.template.Resources).map((r) => r.Type));
    const rules = all.filter((r) => r.resourceTypes.some((t) => types.has(t)));
    const rulesDigest = sha256(rules.map((r) => `${r.guardFile}\n${ruleText(r)}`).join('\n'));
    units.set(json, { json, stacks: [stack], rules, cacheKey: sha256(`guard-v2\n${rulesDigest}\n${json}`), notCompliant: [] });
  }
  const misses: Unit[] = [];
  for (const unit of units.values()) {
    if (unit.rules.length === 0) continue;
    const hit = readCache<{ not_compliant: unknown[] }>('guard', unit.cacheKey);
    if (hit) unit.notCompliant.push(...hit.not_compliant);
    else misses.push(unit);
  }
  if (misses.length > 0) await checkUnits(misses, ruleText);

  const titles = new Map(all.map((r) => [r.id, r.title]));
  const findings: Finding[] = [];
  for (const unit of units.values())
  for (const stack of unit.stacks)
  for (const entry of unit.notCompliant) {
    const { id, fix } = controlMessage(entry);
    const guardRule = (entry as { Rule?: { name?: string } }).Rule?.name ?? 'unknown';
    const resources = new Set([...JSON.stringify(entry).matchAll(/"\/Resources\/([^/"]+)/g)].map((m) => m[1]!));
    for (const resource of resources) {
      findings.push({
        rule: id ?? guardRule,
        guardRule,
        title: (id && titles.get(id)) ?? guardRule,
        message: fix ?? 'see the rule',
        stack: stack.name,
        file: stack.file,
        resource,
      });
    }
  }
  return findings;
}
