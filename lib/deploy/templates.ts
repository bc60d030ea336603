/**
 * What deploy ships: the templates in `out/` as synth wrote them, checked against the manifest.
 * Deploy never reads `stacks/`; it only compares modification times to tell the user that `out/` is
 * older than the sources.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { MANIFEST_FILE, parseManifest, readVerified, templateKey, type Manifest } from '../manifest.js';
import { TemplateParseError } from '../yaml.js';
import { cachedParse } from '../yaml-cache.js';

export type Template = Record<string, unknown> & {
  readonly Parameters?: Record<string, { readonly Type?: string; readonly Default?: unknown; readonly NoEcho?: unknown; readonly Description?: string }>;
  readonly Resources?: Record<string, TemplateResource>;
  readonly Outputs?: Record<string, { readonly Description?: string }>;
  readonly Transform?: unknown;
};

export interface TemplateResource {
  readonly Type: string;
  readonly DeletionPolicy?: string;
  readonly Properties?: Record<string, unknown>;
}

export interface LocalTemplate {
  /** File name in the output folder. */
  readonly file: string;
  /** The exact bytes synth wrote. */
  readonly body: string;
  readonly template: Template;
}

export interface NestedTemplate extends LocalTemplate {
  /** Content-hash object key under the template base URL. */
  readonly key: string;
}

export interface TemplateSet {
  readonly dir: string;
  readonly manifest: Manifest;
  readonly root: LocalTemplate;
  /** Nested templates by their logical ID in the root. */
  readonly nested: Readonly<Record<string, NestedTemplate>>;
}

/** Reads one template, checked against its manifest hash, and parses it. */
function load(dir: string, file: string, sha: string, what: string): LocalTemplate {
  const path = join(dir, file);
  const body = readVerified(dir, file, sha, what).toString('utf8');
  try {
    return { file, body, template: cachedParse(body, path) as Template };
  } catch (err) {
    if (err instanceof TemplateParseError) throw new UserError(`${err.message}. Run 'npm run synth' to write it again.`);
    throw err;
  }
}

/** Reads `<dir>/manifest.json` and every template it names, each checked against its hash as it is read. */
export function loadTemplates(dir: string): TemplateSet {
  const manifest = parseManifest(dir);
  const root = load(dir, manifest.root, manifest.rootSha256, 'the root template');
  const nested: Record<string, NestedTemplate> = {};
  for (const [id, entry] of Object.entries(manifest.stacks)) {
    nested[id] = { ...load(dir, entry.file, entry.sha256, `stack ${id}`), key: templateKey(entry.file, entry.sha256) };
  }
  return { dir, manifest, root, nested };
}

function newestFile(dir: string): { readonly path: string; readonly mtimeMs: number } | undefined {
  let newest: { path: string; mtimeMs: number } | undefined;
  let entries: string[];
  try {
    const stat = statSync(dir);
    if (stat.isFile()) return { path: dir, mtimeMs: stat.mtimeMs };
    entries = readdirSync(dir, { recursive: true }) as string[];
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    const path = join(dir, entry);
    const stat = statSync(path);
    if (stat.isFile() && (!newest || stat.mtimeMs > newest.mtimeMs)) newest = { path, mtimeMs: stat.mtimeMs };
  }
  return newest;
}

/**
 * Refuses an `out/` older than the newest file under `sourceDirs` (modification times only; the
 * sources are not read). Missing source folders are ignored, so a packaged `out/` deploys anywhere.
 */
export function checkFresh(dir: string, sourceDirs: readonly string[]): void {
  let synthesized: number;
  try {
    synthesized = statSync(join(dir, MANIFEST_FILE)).mtimeMs;
  } catch {
    throw new UserError(`${join(dir, MANIFEST_FILE)} not found. Run 'npm run synth' first.`);
  }
  for (const source of sourceDirs) {
    const newest = newestFile(source);
    if (newest && newest.mtimeMs > synthesized) {
      throw new UserError(`${dir}/ is older than ${newest.path}. Run 'npm run synth' first (or pass --skip-synth-check to deploy ${dir}/ as it is).`);
    }
  }
}

export type Capability = 'CAPABILITY_IAM' | 'CAPABILITY_NAMED_IAM' | 'CAPABILITY_AUTO_EXPAND';

const IAM_NAME_PROPERTIES = ['RoleName', 'UserName', 'GroupName', 'ManagedPolicyName', 'InstanceProfileName'];

/** True when a value holds an `Fn::Transform` (a macro) anywhere, keys included. */
function hasTransform(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(hasTransform);
  if (value === null || typeof value !== 'object') return false;
  return Object.entries(value).some(([k, v]) => k === 'Fn::Transform' || hasTransform(v));
}

/**
 * The capabilities the templates need: CAPABILITY_AUTO_EXPAND for any macro (a top-level `Transform`, or an
 * `Fn::Transform` anywhere: in a property, or directly under `Resources`), CAPABILITY_IAM for IAM resources and
 * CAPABILITY_NAMED_IAM when one is named. Entries under `Resources` that are not resources are skipped.
 */
export function requiredCapabilities(set: TemplateSet): Capability[] {
  const capabilities = new Set<Capability>();
  for (const { template } of [set.root, ...Object.values(set.nested)]) {
    if (template.Transform !== undefined || hasTransform(template)) capabilities.add('CAPABILITY_AUTO_EXPAND');
    for (const resource of Object.values(template.Resources ?? {})) {
      const type = (resource as { Type?: unknown } | null)?.Type;
      if (typeof type !== 'string' || !type.startsWith('AWS::IAM::')) continue;
      capabilities.add('CAPABILITY_IAM');
      if (IAM_NAME_PROPERTIES.some((p) => resource.Properties?.[p] !== undefined)) capabilities.add('CAPABILITY_NAMED_IAM');
    }
  }
  return [...capabilities].sort();
}
