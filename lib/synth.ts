/**
 * Synth: cluster definition → validated config → template objects → YAML, manifest, checks → `out/`.
 * `compile` is pure; only `writeOutput` touches the disk, and it replaces the output folder in one swap so a
 * failed synth leaves `out/` exactly as it was.
 */
import { accessSync, constants, existsSync, lstatSync, mkdirSync, readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { UserError, ValidationError } from './errors.js';
import { InterruptedError, onInterrupt, throwIfInterrupted } from './interrupt.js';
import { PROJECT_DIR } from './build.js';
import { templateSetOf } from './audit/load.js';
import { oversizedUserData } from './audit/user-data.js';
import { foreignPackaged, GENCONF_FOLDER, MANIFEST_FILE, PACKAGED_DIR, sha256, templateKey, type Manifest } from './manifest.js';
import type { StackTemplate } from './template.js';
import { hashSources } from './sources.js';
import { cachedYaml } from './yaml-cache.js';
import { childStacks, rootStack } from '../stacks/cluster.js';
import { bundleUrl, type ClusterConfig } from '../stacks/config.js';
import { GENCONF_FILE_NAMES, genconfFiles, type GenconfFile } from '../stacks/genconf.js';
import { ROOT_FILE, STACK_FILES, type StackId } from '../stacks/names.js';
import { validateDefinition } from '../stacks/validate.js';

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
  /** The DC/OS configuration, written to `genconf/`. */
  readonly genconf: readonly GenconfFile[];
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
 * Validates the config and compiles every template; the manifest records the definition's name, when given
 * (`stacks/clusters/<definition>.ts`), and the hashes of the sources the output was made from. Throws a ValidationError listing every config problem, or
 * every wiring and limit problem, at once.
 */
export function compile(config: ClusterConfig, definition?: string): Compiled {
  const problems = validateDefinition(config);
  if (problems.length > 0) throw new ValidationError(`Cluster definition '${String(config?.name)}' is invalid:`, problems);

  const children = (Object.entries(childStacks(config)) as [StackId, StackTemplate][]).map(([id, t]) => compiled(id, STACK_FILES[id], t));
  const keys = Object.fromEntries(children.map((c) => [c.id, templateKey(c.file, c.sha256)])) as Record<StackId, string>;
  const root = compiled('Root', ROOT_FILE, rootStack(config, keys));

  const genconf = genconfFiles(config);
  const { errors, warnings } = checkTemplates(root, children);
  if (errors.length > 0) throw new ValidationError(`Synth checks failed for '${config.name}':`, errors);
  const manifest: Manifest = {
    root: root.file,
    rootSha256: root.sha256,
    cluster: config.name,
    ...(definition !== undefined ? { definition } : {}),
    stacks: Object.fromEntries(children.map((c) => [c.id, { file: c.file, sha256: c.sha256 }])),
    ...genconfManifest(config, genconf),
    sources: hashSources(definition),
  };
  return { cluster: config.name, root, children, manifest, genconf, warnings };
}

/** The manifest's record of the DC/OS configuration: each file's hash, and where the bundle goes. */
function genconfManifest(config: ClusterConfig, files: readonly GenconfFile[]): Pick<Manifest, 'genconf' | 'bundle'> {
  return {
    genconf: Object.fromEntries(files.map((f) => [f.name, sha256(f.content)])),
    bundle: { region: config.region, bucket: config.bundle.bucket, prefix: config.bundle.prefix, url: bundleUrl(config) },
  };
}

/** Writes `genconf/` into a (staging) output folder. */
function writeGenconf(dir: string, files: readonly GenconfFile[]): void {
  mkdirSync(join(dir, GENCONF_FOLDER));
  for (const f of files) writeFileSync(join(dir, GENCONF_FOLDER, f.name), f.content, { mode: f.executable ? 0o755 : 0o644 });
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
 * without a default is passed, every `Outputs.X` read exists, every template within CloudFormation's limits,
 * every user data within EC2's at its longest.
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
  // EC2's user-data limit, which CloudFormation does not check (the audit's DCOS.EC2.6, kept by `--no-audit` too).
  for (const f of oversizedUserData(templateSetOf('', root, children))) errors.push(`${f.stack}: ${f.resource} ${f.message}`);
  return { errors, warnings };
}

/**
 * The file that marks a folder as synth's output. Synth replaces its output folder whole, so it replaces only
 * a folder that holds this marker (or one that is new or empty), and never one that contains the project.
 */
export const SYNTH_MARKER = '.dcos-cfn-synth';
const MARKER_TEXT = "Written by 'npm run synth' (dcos-cfn). This folder is replaced whole on every synth: keep nothing else here.\n";

/**
 * What other commands make from the templates inside an output folder: diagram's picture and package's folder.
 * A synth removes them with the old templates (they would describe templates that are gone) and says so.
 */
const DERIVED_ENTRIES = ['architecture.svg', 'architecture.dot', PACKAGED_DIR] as const;

/** Entries synth (templates, manifest, genconf/), diagram (architecture.svg/.dot) and package (packaged/) write into an output folder. */
const OWN_ENTRIES = new Set<string>([MANIFEST_FILE, SYNTH_MARKER, ROOT_FILE, ...Object.values(STACK_FILES), GENCONF_FOLDER, ...DERIVED_ENTRIES]);

/** What in an output folder synth did not write and would delete, as `'name'` (a nested output said to be one). */
function foreignEntries(target: string, entries: readonly string[]): string[] {
  const foreign = entries.filter((e) => !OWN_ENTRIES.has(e)).map((e) => (existsSync(join(target, e, SYNTH_MARKER)) ? `'${e}' (another synth output)` : `'${e}'`));
  foreign.push(...foreignPackaged(target).map((e) => `'${e}'`));
  // genconf/ is synth's, but dcos_generate_config.sh writes beside its files (serve/, state/) when run in place.
  if (entries.includes(GENCONF_FOLDER) && statSync(join(target, GENCONF_FOLDER)).isDirectory()) {
    const own = GENCONF_FILE_NAMES as readonly string[];
    foreign.push(...readdirSync(join(target, GENCONF_FOLDER)).filter((e) => !own.includes(e)).map((e) => `'${GENCONF_FOLDER}/${e}'`));
  }
  return foreign.sort();
}

/** A folder's real path, resolving symbolic links in the part that exists. */
function realPath(path: string): string {
  const missing: string[] = [];
  let current = path;
  for (;;) {
    try {
      return join(realpathSync(current), ...missing.reverse());
    } catch {
      const parent = dirname(current);
      if (parent === current) return path;
      missing.push(basename(current));
      current = parent;
    }
  }
}

const within = (path: string, folder: string) => path === folder || path.startsWith(folder.endsWith(sep) ? folder : folder + sep);

/**
 * Refuses an output folder synth must not replace: one that contains the project or is inside its sources,
 * one that is not a folder, and an existing folder that synth did not write (no marker) or that holds files
 * synth does not write. Everything refused is named, with what to do.
 */
function checkOutputFolder(outDir: string, projectRoot = PROJECT_DIR): void {
  const target = realPath(resolve(outDir));
  const project = realPath(projectRoot);
  if (within(project, target)) {
    throw new UserError(`--out ${outDir} is ${target === project ? 'the project folder' : `a folder that contains the project (${project})`}: synth replaces its output folder whole, and would delete the project. Pass a folder of its own, like out.`, 2);
  }
  checkNotNested(outDir, target);
  if (within(target, project)) {
    const top = relative(project, target).split(sep)[0]!;
    const entry = join(project, top);
    if (target !== entry && existsSync(entry) && !existsSync(join(entry, SYNTH_MARKER))) {
      throw new UserError(`--out ${outDir} is inside the project's ${top}/, which synth did not write. Pass a folder of its own, like out.`, 2);
    }
  }
  const existing = nearestExisting(target);
  if (existing !== target && !statSync(existing).isDirectory()) {
    throw new UserError(`--out ${outDir}: a part of the path (${existing}) is a file, not a folder. Pass another path.`, 2);
  }
  let stat;
  try {
    stat = lstatSync(target);
  } catch {
    return; // a new folder
  }
  if (stat.isSymbolicLink() || !stat.isDirectory()) {
    throw new UserError(`--out ${outDir} is ${stat.isSymbolicLink() ? 'a symbolic link' : 'a file, not a folder'}: synth writes a folder there and will not replace it. Pass another path.`, 2);
  }
  const entries = readdirSync(target);
  if (entries.length === 0) return;
  // A folder of an older synth (before the marker) holds only what synth writes, a manifest among it.
  const olderSynth = entries.includes(MANIFEST_FILE) && entries.every((e) => OWN_ENTRIES.has(e));
  if (!entries.includes(SYNTH_MARKER) && !olderSynth) {
    throw new UserError(
      `--out ${outDir} exists and was not written by synth (it has no ${SYNTH_MARKER} marker): synth replaces its output folder whole, so it only replaces one it wrote. ` +
        `Pass a new or empty folder, or move that folder away yourself.`,
      2,
    );
  }
  const foreign = foreignEntries(target, entries);
  if (foreign.length) {
    throw new UserError(`${outDir}/ holds ${foreign.join(', ')}, which synth did not write and would delete: move ${foreign.length === 1 ? 'it' : 'them'} out of ${outDir}/ first.`, 2);
  }
}

/**
 * Refuses an output folder inside another synth output: synthesizing that one again replaces it whole, which
 * would delete the inner one (and a later synth of the outer one would refuse to, naming it).
 */
function checkNotNested(outDir: string, target: string): void {
  for (let parent = dirname(target); parent !== dirname(parent); parent = dirname(parent)) {
    if (existsSync(join(parent, SYNTH_MARKER))) {
      throw new UserError(`--out ${outDir} is inside ${parent}/, another synth output: synthesizing that one again replaces it whole and would delete this one. Pass a folder of its own, beside it.`, 2);
    }
  }
}

/** The path itself, or its nearest ancestor that exists (where a new folder would be made). */
function nearestExisting(path: string): string {
  let current = path;
  while (!existsSync(current) && dirname(current) !== current) current = dirname(current);
  return current;
}

/** True when the process with this ID is running. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Staging folders of synths that were killed (SIGKILL, a crash): each `.<out>.synth-<pid>` or `.<out>.old-<pid>`
 * of a process no longer running that holds synth's marker. A previous output left aside when `<out>` is missing
 * is put back; the rest are removed.
 */
function sweepLeftovers(parent: string, base: string, target: string): void {
  const pattern = new RegExp(`^\\.${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(synth|old)-(\\d+)$`);
  for (const entry of readdirSync(parent)) {
    const match = pattern.exec(entry);
    const path = join(parent, entry);
    if (!match || alive(Number(match[2])) || !existsSync(join(path, SYNTH_MARKER))) continue;
    if (match[1] === 'old' && !existsSync(target)) renameSync(path, target);
    else rmSync(path, { recursive: true, force: true });
  }
}

/** A file-system failure as a user's message: which path, what went wrong, what to do. */
function fsError(err: unknown, outDir: string): unknown {
  const e = err as NodeJS.ErrnoException;
  const hints: Record<string, string> = {
    EACCES: 'no permission to write there',
    EPERM: 'not permitted',
    EROFS: 'the file system is read-only',
    ENOSPC: 'the disk is full',
    EDQUOT: 'the disk quota is used up',
    ENOTDIR: 'a part of the path is a file, not a folder',
    EEXIST: 'something is in the way',
  };
  const hint = e?.code ? hints[e.code] : undefined;
  if (!hint) return err;
  return new UserError(`Cannot write the output folder ${outDir}: ${hint} (${e.code} on ${e.path ?? outDir}). Pass another --out, or fix the folder; nothing was changed.`);
}

/**
 * Writes the templates and manifest to a fresh sibling folder, then swaps it in for `outDir`. If anything
 * fails (or the user interrupts) before the swap, `outDir` is untouched and the staging folder is removed.
 * @param check runs on the fresh folder before the swap (the audit); throwing aborts the swap.
 * @returns what other commands had made from the previous templates and is gone with them (`DERIVED_ENTRIES`
 *   that were in `outDir`), for the caller to say.
 */
export async function writeOutput(result: Compiled, outDir: string, check?: (dir: string) => Promise<void>): Promise<{ readonly removed: readonly string[] }> {
  checkOutputFolder(outDir);
  const target = resolve(outDir);
  const parent = dirname(target);
  const staging = join(parent, `.${basename(target)}.synth-${process.pid}`);
  const removeStaging = () => {
    try {
      rmSync(staging, { recursive: true, force: true });
    } catch {
      // nothing was staged (its parent could not be made)
    }
  };
  const release = onInterrupt(() => {
    removeStaging();
    console.error(`  Removed the unfinished output; ${outDir}/ is as it was.`);
  });
  try {
    accessSync(nearestExisting(parent), constants.W_OK);
    mkdirSync(parent, { recursive: true });
    sweepLeftovers(parent, basename(target), target);
    removeStaging();
    mkdirSync(staging);
    writeFileSync(join(staging, SYNTH_MARKER), MARKER_TEXT);
    for (const t of [result.root, ...result.children]) writeFileSync(join(staging, t.file), t.yaml);
    writeGenconf(staging, result.genconf);
    writeFileSync(join(staging, MANIFEST_FILE), `${JSON.stringify(result.manifest, null, 2)}\n`);
    if (check) await check(staging);
    throwIfInterrupted();
    // The swap is synchronous: no interrupt handler can run in its middle.
    const old = join(parent, `.${basename(target)}.old-${process.pid}`);
    const hadOld = existsSync(target);
    const removed = hadOld ? DERIVED_ENTRIES.filter((e) => existsSync(join(target, e))) : [];
    if (hadOld) renameSync(target, old);
    renameSync(staging, target);
    if (hadOld) rmSync(old, { recursive: true, force: true });
    return { removed };
  } catch (err) {
    if (!(err instanceof InterruptedError)) removeStaging();
    throw fsError(err, outDir);
  } finally {
    release();
  }
}
