/**
 * What deploy ships: the templates in `out/` as synth wrote them, checked against the manifest.
 * Deploy never compiles `stacks/`; it only compares the hashes of the sources the manifest records with the
 * files, to tell the user that `out/` no longer matches them.
 */
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { MANIFEST_FILE, parseManifest, readVerified, templateKey, type Manifest } from '../manifest.js';
import { changedSources } from '../sources.js';
import { TemplateParseError } from '../yaml.js';
import { cachedParse } from '../yaml-cache.js';

export type Template = Record<string, unknown> & {
  readonly Parameters?: Record<string, TemplateParameter>;
  readonly Resources?: Record<string, TemplateResource>;
  readonly Outputs?: Record<string, { readonly Description?: string }>;
  readonly Transform?: unknown;
};

/** A parameter declaration, with the constraints CloudFormation checks a value against. */
export interface TemplateParameter {
  readonly Type?: string;
  readonly Default?: unknown;
  readonly NoEcho?: unknown;
  readonly Description?: string;
  readonly AllowedPattern?: string;
  readonly AllowedValues?: readonly unknown[];
  readonly MinLength?: number | string;
  readonly MaxLength?: number | string;
  readonly MinValue?: number | string;
  readonly MaxValue?: number | string;
  readonly ConstraintDescription?: string;
}

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

/**
 * Refuses a template folder whose manifest does not record its sources, or whose sources changed since synth
 * (lib/sources.ts): the definition it names, the compiler, the stacks' data files, the packages they import. Only
 * the recorded files are read; an edit of another definition, or of deploy itself, does not count.
 */
export function checkSynthSources(dir: string, manifest: Manifest): void {
  const again = `Run 'npm run synth -- ${manifest.definition !== undefined ? `--cluster ${manifest.definition} ` : ''}--out ${dir}' first (or pass --skip-synth-check to use ${dir}/ as it is)`;
  if (manifest.sources === undefined) {
    throw new UserError(`${join(dir, MANIFEST_FILE)} records no sources (an older synth wrote it, or not synth), so whether ${dir}/ matches the definition and the compiler cannot be checked. ${again}.`);
  }
  const changed = changedSources(manifest.sources);
  if (changed.length > 0) {
    const shown = changed.length > 6 ? [...changed.slice(0, 5), `and ${changed.length - 5} more`] : changed;
    throw new UserError(`${dir}/ is out of date: ${shown.join(', ')} changed since synth wrote it. ${again}.`);
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
