/**
 * The AWS Control Tower proactive controls, run with cfn-guard. Both ship in
 * `@cdklabs/cdk-validator-cfnguard`: the static binary under `bin/<os>/<arch>/cfn-guard`, the rules under
 * `rules/control-tower/cfn-guard` with one metadata file each.
 *
 * What cfn-guard 3.1 spends its time on (measured on the ha templates; source: cloudformation-guard
 * `commands/reporters/validate/structured.rs`, `rules/path_value.rs`): it parses every rule given to a process
 * once, compiling each `/regex/` to check it (the five instance-type rules' ~100 patterns take ~0.3 CPU-s of
 * the ~0.35 s that parsing all 46 applicable rules costs), then evaluates every rule against every template
 * given to the process, cloning the whole template for each pair (a rule that does not apply still costs the
 * clone) and compiling a pattern again for each comparison. So each rule is given only the templates whose
 * resource types it evaluates: the rules are grouped by the exact set of templates they apply to, one cfn-guard
 * process per group (`planRuns`), so a rule is parsed once and never evaluated where it cannot apply.
 * Rules and templates reach cfn-guard on its stdin (`--payload`): no file is written.
 *
 * Runs start as soon as the templates are known (`startControlTower`, which synth calls before it writes the
 * YAML), and `runControlTower` takes the results of runs already started. Results are cached by content (the
 * template and the rule files that apply to it).
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { readCache, writeCache } from '../cache.js';
import { UserError } from '../errors.js';
import { stopOnInterrupt } from '../interrupt.js';
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

const ruleTexts = new Map<string, string>();

/** The text of a rule's guard file, read once per process. */
function ruleText(rule: ControlTowerRule): string {
  let text = ruleTexts.get(rule.guardFile);
  if (text === undefined) ruleTexts.set(rule.guardFile, (text = readFileSync(rule.guardFile, 'utf8')));
  return text;
}

/**
 * A distinct template to check (a template nested twice, or identical in two sets, is checked once): its
 * long-form JSON (cfn-guard takes a short-form `!GetAtt A.B` in YAML for a string, where the rules expect
 * `Fn::GetAtt: [A, B]`), the rules whose evaluated resource types occur in it, and its cache key.
 */
interface Unit {
  readonly json: string;
  readonly rules: readonly ControlTowerRule[];
  readonly cacheKey: string;
}

/** What the rule choice reads of a template: its resources' types. */
type Typed = { readonly Resources?: Readonly<Record<string, { readonly Type: string }>> };

function unitOf(json: string, template: Typed): Unit {
  const types = new Set(Object.values(template.Resources ?? {}).map((r) => r.Type));
  const rules = controlTowerRules().filter((r) => r.resourceTypes.some((t) => types.has(t)));
  const rulesDigest = sha256(rules.map((r) => `${r.guardFile}\n${ruleText(r)}`).join('\n'));
  return { json, rules, cacheKey: sha256(`guard-v2\n${rulesDigest}\n${json}`) };
}

/**
 * cfn-guard's not_compliant entries of templates started or read from the cache and not yet taken by
 * `runControlTower`, by cache key. Taken entries leave it, so a later audit in the same process reads the
 * cache (or, with the cache off, runs cfn-guard again).
 */
const results = new Map<string, Promise<unknown[]>>();
/** The cfn-guard processes running. */
const running = new Set<ChildProcess>();
let processesStarted = 0;

/** How many cfn-guard processes this process has started. */
export function guardProcessesStarted(): number {
  return processesStarted;
}

/**
 * The cfn-guard processes for a set of templates: the rules grouped by the exact set of templates they apply
 * to (`applies`: rule → templates), each group with those templates. Every rule is in one group, evaluated on
 * every template it applies to and on no other. Groups come in the order of their first rule.
 */
export function planRuns<R, U>(applies: ReadonlyMap<R, readonly U[]>): { rules: R[]; units: U[] }[] {
  const ids = new Map<U, number>();
  const groups = new Map<string, { rules: R[]; units: U[] }>();
  for (const [rule, units] of applies) {
    if (units.length === 0) continue;
    const key = units.map((u) => ids.get(u) ?? ids.set(u, ids.size).get(u)!).sort((a, b) => a - b).join(',');
    const group = groups.get(key) ?? groups.set(key, { rules: [], units: [...units] }).get(key)!;
    group.rules.push(rule);
  }
  return [...groups.values()];
}

/** One entry of cfn-guard's `--structured` JSON output: the results for one template. */
interface GuardFileResult {
  readonly name: string;
  readonly not_compliant?: readonly unknown[];
}

/**
 * Runs cfn-guard once over rule texts and template JSONs given on its stdin; resolves with one result per
 * template, in their order, or rejects with a UserError saying why it failed.
 */
function runGuard(rules: readonly string[], data: readonly string[]): Promise<GuardFileResult[]> {
  // Loaded here (synchronously, so the process starts before the caller goes on): an audit answered from the
  // cache starts no process, and child_process costs ~10 ms to load.
  const { spawn } = createRequire(import.meta.url)('node:child_process') as typeof import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(guardBinary(), ['validate', '--payload', '--output-format', 'json', '--show-summary', 'none', '--structured'], { stdio: ['pipe', 'pipe', 'pipe'] });
    running.add(child);
    processesStarted++;
    const release = stopOnInterrupt(child);
    child.on('exit', release);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {}); // a cfn-guard that exits early is reported by 'close'
    child.stdin.end(JSON.stringify({ rules, data }));
    child.on('error', (e) => {
      running.delete(child);
      reject(new UserError(`cfn-guard could not be started (${(e as NodeJS.ErrnoException).code ?? e.message}): ${guardBinary()}. Run 'npm ci' to reinstall ${PACKAGE}.`));
    });
    child.on('close', (code, signal) => {
      running.delete(child);
      const stdout = Buffer.concat(out).toString('utf8');
      // 0: all compliant, 19: some not compliant, 20: all skipped. Anything else is cfn-guard failing.
      if (code === null || ![0, 19, 20].includes(code)) {
        const detail = (Buffer.concat(err).toString('utf8') || stdout).trim().slice(0, 2000);
        reject(new UserError(`cfn-guard failed (exit ${code ?? signal}): ${detail}`));
        return;
      }
      let parsed: GuardFileResult[];
      try {
        parsed = JSON.parse(stdout) as GuardFileResult[];
      } catch {
        reject(new UserError(`cfn-guard printed no JSON result (exit ${code}): ${stdout.slice(0, 500)}`));
        return;
      }
      const names = parsed.map((r) => r.name).join(', ');
      if (names !== data.map((_, i) => `DATA_STDIN[${i + 1}]`).join(', ')) {
        reject(new UserError(`cfn-guard answered for ${names || 'no template'}, not for the ${data.length} template(s) it was given.`));
        return;
      }
      resolve(parsed);
    });
  });
}

/** Starts the cfn-guard processes for templates neither checked nor being checked; records their results. */
function startRuns(units: readonly Unit[]): void {
  const applies = new Map<ControlTowerRule, Unit[]>();
  for (const unit of units) for (const rule of unit.rules) applies.set(rule, [...(applies.get(rule) ?? []), unit]);
  const runs = planRuns(applies).map((run) => ({ ...run, result: runGuard(run.rules.map(ruleText), run.units.map((u) => u.json)) }));
  for (const run of runs) run.result.catch(() => {}); // awaited through each template's result
  for (const unit of units) {
    const mine = runs.filter((run) => run.units.includes(unit));
    const result = Promise.all(mine.map(async (run) => (await run.result)[run.units.indexOf(unit)]!.not_compliant ?? [])).then((lists) => {
      const notCompliant = lists.flat();
      writeCache('guard', unit.cacheKey, { not_compliant: notCompliant });
      return notCompliant;
    });
    result.catch(() => {}); // awaited by runControlTower, which reports the failure
    results.set(unit.cacheKey, result);
  }
}

/** Records the cached result of each template that has one; returns the templates still to check. */
function uncached(units: Iterable<Unit>): Unit[] {
  const misses: Unit[] = [];
  for (const unit of units) {
    if (unit.rules.length === 0 || results.has(unit.cacheKey)) continue;
    const hit = readCache<{ not_compliant: unknown[] }>('guard', unit.cacheKey);
    if (hit) results.set(unit.cacheKey, Promise.resolve(hit.not_compliant));
    else misses.push(unit);
  }
  return misses;
}

/**
 * Starts checking templates now, before the audit asks for them (synth calls it as soon as its templates exist,
 * and writes the YAML meanwhile); `runControlTower` then takes these runs' results. Returns at once; a failure
 * is reported by `runControlTower`.
 */
export function startControlTower(templates: readonly Typed[]): void {
  const units = new Map<string, Unit>();
  for (const template of templates) {
    const json = JSON.stringify(template);
    if (!units.has(json)) units.set(json, unitOf(json, template));
  }
  const misses = uncached(units.values());
  if (misses.length > 0) startRuns(misses);
}

/** Stops every cfn-guard process still running and waits for each to exit (a synth that failed for another reason needs none of them). */
export async function stopControlTower(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
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
 * Each distinct template gets the rules whose resource types occur in it; results come from runs already
 * started, from the cache where the template and those rules are unchanged, from new cfn-guard runs otherwise.
 */
export async function runControlTower(stacks: readonly Stack[]): Promise<Finding[]> {
  const units = new Map<string, { unit: Unit; stacks: Stack[] }>();
  for (const stack of stacks) {
    const json = JSON.stringify(stack.template);
    const known = units.get(json);
    if (known) known.stacks.push(stack);
    else units.set(json, { unit: unitOf(json, stack.template), stacks: [stack] });
  }
  const misses = uncached([...units.values()].map((u) => u.unit));
  if (misses.length > 0) startRuns(misses);
  const taken = [...units.values()].map(({ unit, stacks }) => {
    const result = results.get(unit.cacheKey) ?? Promise.resolve([]);
    results.delete(unit.cacheKey);
    return { stacks, result };
  });
  const checked = await Promise.all(taken.map(async ({ stacks, result }) => ({ stacks, notCompliant: await result })));

  const titles = new Map(controlTowerRules().map((r) => [r.id, r.title]));
  const findings: Finding[] = [];
  for (const { stacks: same, notCompliant } of checked)
  for (const stack of same)
  for (const entry of notCompliant) {
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
