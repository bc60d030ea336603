/**
 * The AWS Control Tower proactive controls, run with cfn-guard. Both ship in
 * `@cdklabs/cdk-validator-cfnguard`: the static binary under `bin/<os>/<arch>/cfn-guard`, the rules under
 * `rules/control-tower/cfn-guard` with one metadata file each. One cfn-guard process checks every
 * template, with only the rules whose evaluated resource types occur in the templates (the others would
 * be skipped anyway, and parsing all 237 rules costs more than checking).
 */
import { execa } from 'execa';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, platform, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';
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

/** Where cfn-guard results are kept by content hash; `DCOS_CFN_CACHE=off` turns the cache off. */
const CACHE_DIR = fileURLToPath(new URL('../../../node_modules/.cache/dcos-cfn/guard/', import.meta.url));

function readCache(key: string): GuardFileResult | undefined {
  if (process.env['DCOS_CFN_CACHE'] === 'off') return undefined;
  try {
    return JSON.parse(readFileSync(join(CACHE_DIR, `${key}.json`), 'utf8')) as GuardFileResult;
  } catch {
    return undefined;
  }
}

function writeCache(key: string, entry: GuardFileResult): void {
  if (process.env['DCOS_CFN_CACHE'] === 'off') return;
  try {
    mkdirSync(CACHE_DIR, { recursive: true });
    writeFileSync(join(CACHE_DIR, `${key}.json`), JSON.stringify(entry));
  } catch {
    // a read-only install just runs cfn-guard every time
  }
}

/** Every Control Tower rule of the pack, read from its metadata files. */
export function controlTowerRules(): ControlTowerRule[] {
  if (rulesCache) return rulesCache;
  const root = join(packageDir(), 'rules', 'control-tower');
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
  return rulesCache;
}

interface GuardFileResult {
  readonly name: string;
  readonly not_compliant?: readonly { readonly Rule?: { readonly name: string } }[];
}

/** `[CT.EC2.PR.13]: ...\n[FIX]: Set 'Monitoring' to 'true'.` → the ID and the fix. */
function controlMessage(entry: unknown): { id?: string; fix?: string } {
  const text = JSON.stringify(entry);
  const id = /\[(CT\.[A-Z0-9]+\.PR\.\d+)\]/.exec(text)?.[1];
  const fix = /\[FIX\]: ((?:[^"\\]|\\.)*?)(?:\\n|")/.exec(text)?.[1]?.replace(/\\'/g, "'").replace(/\\"/g, '"').trim();
  return { ...(id ? { id } : {}), ...(fix ? { fix } : {}) };
}

/**
 * Runs the Control Tower rules over the stacks' templates in one cfn-guard process and returns a finding
 * per rule and resource.
 */
export async function runControlTower(stacks: readonly Stack[]): Promise<Finding[]> {
  if (stacks.length === 0) return [];
  const types = new Set(stacks.flatMap((s) => Object.values(s.template.Resources).map((r) => r.Type)));
  const rules = controlTowerRules().filter((r) => r.resourceTypes.some((t) => types.has(t)));
  if (rules.length === 0) return [];
  // cfn-guard reads the long-form JSON we parsed, not the files: it takes a short-form `!GetAtt A.B` for a
  // string, where the rules expect `Fn::GetAtt: [A, B]`. A template nested twice is checked once.
  // Results are cached by content (the rule files and the template), so an unchanged template is not checked
  // twice: synth audits what it writes, and a later `npm run audit` of the same out/ reuses that.
  const rulesDigest = sha256(rules.map((r) => `${r.guardFile}\n${readFileSync(r.guardFile, 'utf8')}`).join('\n'));
  const dir = mkdtempSync(join(tmpdir(), 'dcos-audit-'));
  const byData = new Map<string, Stack[]>();
  const dataOf = new Map<string, string>();
  const cacheKeyOf = new Map<string, string>();
  for (const s of stacks) {
    const source = resolve(s.file);
    let data = dataOf.get(source);
    if (data === undefined) {
      data = join(dir, `${dataOf.size}-${basename(s.file).replace(/\.[a-z]+$/, '')}.json`);
      const json = JSON.stringify(s.template);
      writeFileSync(data, json);
      dataOf.set(source, data);
      cacheKeyOf.set(data, sha256(`${rulesDigest}\n${json}`));
    }
    byData.set(data, [...(byData.get(data) ?? []), s]);
  }
  const cached = new Map<string, GuardFileResult>();
  const misses: string[] = [];
  for (const data of byData.keys()) {
    const hit = readCache(cacheKeyOf.get(data)!);
    if (hit) cached.set(data, { ...hit, name: data });
    else misses.push(data);
  }
  let fresh: GuardFileResult[] = [];
  try {
    if (misses.length > 0) {
      const args = ['validate', ...rules.flatMap((r) => ['--rules', r.guardFile]), ...misses.flatMap((f) => ['--data', f])];
      const result = await execa(guardBinary(), [...args, '--output-format', 'json', '--show-summary', 'none', '--structured'], {
        reject: false,
        maxBuffer: 1024 * 1024 * 1024,
      });
      // 0: all compliant, 19: some not compliant, 20: all skipped. Anything else is cfn-guard failing.
      if (![0, 19, 20].includes(result.exitCode ?? -1)) {
        throw new UserError(`cfn-guard failed (exit ${result.exitCode ?? result.signal}): ${String(result.stderr || result.stdout).trim().slice(0, 2000)}`);
      }
      fresh = JSON.parse(String(result.stdout)) as GuardFileResult[];
      for (const data of misses) writeCache(cacheKeyOf.get(data)!, fresh.find((f) => f.name === data) ?? { name: data, not_compliant: [] });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const titles = new Map(rules.map((r) => [r.id, r.title]));
  const findings: Finding[] = [];
  for (const fileResult of [...cached.values(), ...fresh]) {
    for (const stack of byData.get(fileResult.name) ?? [])
    for (const entry of fileResult.not_compliant ?? []) {
      const { id, fix } = controlMessage(entry);
      const guardRule = entry.Rule?.name ?? 'unknown';
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
  }
  return findings;
}
