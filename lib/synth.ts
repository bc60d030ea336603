/**
 * Synth: cluster definition → validated config → template objects → YAML, manifest, checks → `out/`.
 * `compile` is pure; only `writeOutput` touches the disk, and it replaces the output folder in one swap so a
 * failed synth leaves `out/` exactly as it was.
 */
import { mkdirSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildDefinition, definitionNames } from './build.js';
import { UserError, ValidationError } from './errors.js';
import { MANIFEST_FILE, sha256, templateKey, type Manifest } from './manifest.js';
import type { StackTemplate } from './template.js';
import { cachedYaml } from './yaml-cache.js';
import { childStacks, rootStack } from '../stacks/cluster.js';
import type { ClusterConfig } from '../stacks/config.js';
import { ROOT_FILE, STACK_FILES, type StackId } from '../stacks/names.js';
import { validateCluster } from '../stacks/validate.js';

export interface CompiledTemplate {
  /** `Root`, or the nested stack's logical ID in the root. */
  readonly id: 'Root' | StackId;
  readonly file: string;
  readonly template: StackTemplate;
  readonly yaml: string;
  readonly sha256: string;
}

export interface Compiled {
  readonly cluster: string;
  readonly root: CompiledTemplate;
  readonly children: readonly CompiledTemplate[];
  readonly manifest: Manifest;
  /** Templates at 80% or more of a CloudFormation limit. */
  readonly warnings: readonly string[];
}

/** CloudFormation quotas per template. */
export const LIMITS = { resources: 500, parameters: 200, outputs: 200, bytes: 1_000_000 } as const;
const WARN_AT = 0.8;

function compiled(id: CompiledTemplate['id'], file: string, template: StackTemplate): CompiledTemplate {
  const yaml = cachedYaml(JSON.stringify(template));
  return { id, file, template, yaml, sha256: sha256(yaml) };
}

/**
 * Validates the config and compiles every template. Throws a ValidationError listing every config problem, or
 * every wiring and limit problem, at once.
 */
export function compile(config: ClusterConfig): Compiled {
  const problems = validateCluster(config);
  if (problems.length > 0) throw new ValidationError(`Cluster definition '${config.name}' is invalid:`, problems);

  const children = (Object.entries(childStacks(config)) as [StackId, StackTemplate][]).map(([id, t]) => compiled(id, STACK_FILES[id], t));
  const keys = Object.fromEntries(children.map((c) => [c.id, templateKey(c.file, c.sha256)])) as Record<StackId, string>;
  const root = compiled('Root', ROOT_FILE, rootStack(config, keys));

  const { errors, warnings } = checkTemplates(root, children);
  if (errors.length > 0) throw new ValidationError(`Synth checks failed for '${config.name}':`, errors);
  const manifest: Manifest = {
    root: root.file,
    cluster: config.name,
    stacks: Object.fromEntries(children.map((c) => [c.id, { file: c.file, sha256: c.sha256 }])),
  };
  return { cluster: config.name, root, children, manifest, warnings };
}

/** Every `Fn::GetAtt` in a value, as [logical ID, attribute]. */
function getAtts(value: unknown, found: [string, string][] = []): [string, string][] {
  if (Array.isArray(value)) value.forEach((v) => getAtts(v, found));
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === 'Fn::GetAtt' && Array.isArray(v) && typeof v[0] === 'string' && typeof v[1] === 'string') found.push([v[0], v[1]]);
      else getAtts(v, found);
    }
  }
  return found;
}

/**
 * The wiring and limit checks: every parameter passed to a child is declared by it, every child parameter
 * without a default is passed, every `Outputs.X` read exists, every template within CloudFormation's limits.
 * Each problem is prefixed with the stack it concerns.
 */
export function checkTemplates(root: CompiledTemplate, children: readonly CompiledTemplate[]): { errors: string[]; warnings: string[] } {
  const errors: string[] = [];
  const warnings: string[] = [];
  const byId = new Map(children.map((c) => [c.id as string, c]));
  const rootJson = JSON.parse(JSON.stringify(root.template)) as StackTemplate;

  for (const [id, res] of Object.entries(rootJson.Resources)) {
    if (res.Type !== 'AWS::CloudFormation::Stack') continue;
    const child = byId.get(id);
    if (!child) {
      errors.push(`Root: nested stack ${id} has no compiled template`);
      continue;
    }
    const declared = child.template.Parameters ?? {};
    const passed = (res.Properties?.Parameters ?? {}) as Record<string, unknown>;
    for (const p of Object.keys(passed)) {
      if (!(p in declared)) errors.push(`${id}: parameter ${p} is passed by the root but not declared by ${child.file}`);
    }
    for (const [p, decl] of Object.entries(declared)) {
      if (decl.Default === undefined && !(p in passed)) errors.push(`${id}: required parameter ${p} (no default) is not passed by the root`);
    }
  }
  for (const [stack, attribute] of getAtts(rootJson)) {
    const child = byId.get(stack);
    if (!child || !attribute.startsWith('Outputs.')) continue;
    const name = attribute.slice('Outputs.'.length);
    if (!(name in (child.template.Outputs ?? {}))) errors.push(`${stack}: the root reads Outputs.${name}, which ${child.file} does not output`);
  }

  for (const t of [root, ...children]) {
    const counts = {
      resources: Object.keys(t.template.Resources).length,
      parameters: Object.keys(t.template.Parameters ?? {}).length,
      outputs: Object.keys(t.template.Outputs ?? {}).length,
      bytes: Buffer.byteLength(t.yaml),
    };
    for (const [what, n] of Object.entries(counts) as [keyof typeof LIMITS, number][]) {
      const limit = LIMITS[what];
      const name = t.id === 'Root' ? 'Root' : t.id;
      if (n > limit) errors.push(`${name}: ${n} ${what} in ${t.file}, over CloudFormation's limit of ${limit}`);
      else if (n >= limit * WARN_AT) warnings.push(`${name}: ${n} ${what} in ${t.file}, ${Math.round((100 * n) / limit)}% of CloudFormation's limit of ${limit}`);
    }
  }
  return { errors, warnings };
}

/**
 * Writes the templates and manifest to a fresh sibling folder, then swaps it in for `outDir`. If anything
 * fails before the swap, `outDir` is untouched.
 * @param check runs on the fresh folder before the swap (the audit); throwing aborts the swap.
 */
export async function writeOutput(result: Compiled, outDir: string, check?: (dir: string) => Promise<void>): Promise<void> {
  const target = resolve(outDir);
  const parent = dirname(target);
  mkdirSync(parent, { recursive: true });
  const staging = join(parent, `.${basename(target)}.synth-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging);
  try {
    for (const t of [result.root, ...result.children]) writeFileSync(join(staging, t.file), t.yaml);
    writeFileSync(join(staging, MANIFEST_FILE), `${JSON.stringify(result.manifest, null, 2)}\n`);
    if (check) await check(staging);
    const old = join(parent, `.${basename(target)}.old-${process.pid}`);
    const hadOld = existsSync(target);
    if (hadOld) renameSync(target, old);
    renameSync(staging, target);
    if (hadOld) rmSync(old, { recursive: true, force: true });
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}

/** Names of the cluster definitions: the sources `stacks/clusters/<name>.ts`. */
export function knownClusters(): string[] {
  return definitionNames();
}

/**
 * Loads `stacks/clusters/<name>.ts`, whose default export is a `ClusterConfig`. A definition edited since it was
 * last built is type-checked alone and transpiled first (`buildDefinition`); its type errors block it, and
 * only it, with their `file:line:column`.
 */
export async function loadCluster(name: string): Promise<ClusterConfig> {
  const known = knownClusters();
  if (!known.includes(name)) {
    throw new UserError(`Unknown cluster '${name}'. Known clusters: ${known.join(', ')}. Add yours as stacks/clusters/${name}.ts.`);
  }
  const built = await buildDefinition(name);
  if ('problems' in built) {
    throw new ValidationError(`stacks/clusters/${name}.ts does not compile; fix it and run the command again (other clusters are not affected):`, built.problems);
  }
  const module = (await import(pathToFileURL(built.file).href)) as { default?: ClusterConfig };
  if (!module.default || typeof module.default !== 'object') {
    throw new UserError(`stacks/clusters/${name}.ts must 'export default defineCluster({...})'.`);
  }
  return module.default;
}
