/**
 * Loads a template set for the audit: one or more root templates and, below each, its nested stacks.
 * A nested stack's template is found through `manifest.json` where the folder has one, otherwise by the
 * file name at the end of its TemplateURL, looked up beside the parent (a `-<sha256>` suffix, as synth
 * writes in URLs, is dropped when the plain name exists instead). Synth audits its templates in memory
 * instead (`templateSetOf`), without writing or parsing YAML.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { UserError } from '../errors.js';
import { MANIFEST_FILE, readManifest, type Manifest } from '../manifest.js';
import { TemplateParseError } from '../yaml.js';
import { cachedParse } from '../yaml-cache.js';

export const NESTED_STACK_TYPE = 'AWS::CloudFormation::Stack';

const TEMPLATE_FILE = /\.(ya?ml|json|template)$/;

/** A resource as written in a template (long form). */
export interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly UpdateReplacePolicy?: string;
  readonly Condition?: string;
}

/** A parsed template in long form: `{ "Ref": ... }`, `{ "Fn::GetAtt": [a, b] }`. */
export interface Template {
  readonly Parameters?: Record<
    string,
    { readonly Type?: string; readonly Default?: unknown; readonly NoEcho?: unknown; readonly AllowedValues?: unknown; readonly MaxLength?: unknown }
  >;
  readonly Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  readonly Conditions?: Record<string, unknown>;
  readonly Resources: Record<string, Resource>;
  readonly Outputs?: Record<string, { readonly Value: unknown }>;
}

/** One stack of the set: a root template or a nested stack below one. */
export interface Stack {
  /** Name in reports: the root's file name without extension, a nested stack's logical-ID path (`Network`). */
  readonly name: string;
  /** Path of the template file. */
  readonly file: string;
  readonly template: Template;
  /** The parent stack and this stack's logical ID in it; absent for a root. */
  readonly parent?: { readonly stack: Stack; readonly logicalId: string };
  /** Nested stacks by logical ID. */
  readonly children: Map<string, Stack>;
}

export interface TemplateSet {
  /** The paths the set was loaded from, as given. */
  readonly label: string;
  readonly roots: readonly Stack[];
  /** Every stack, each root followed by its descendants. */
  readonly stacks: readonly Stack[];
}

/** Reads and parses one template file; a parse error or a file that is no template becomes a UserError. */
export function readTemplate(file: string): Template {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)}).`);
  }
  let template: Record<string, unknown>;
  try {
    template = cachedParse(text, file);
  } catch (err) {
    if (err instanceof TemplateParseError) throw new UserError(`${err.message}. Fix the template and run the audit again.`);
    throw err;
  }
  const resources = template['Resources'];
  if (resources === null || typeof resources !== 'object' || Array.isArray(resources)) {
    throw new UserError(`${file} is not a CloudFormation template: it has no Resources section.`);
  }
  return template as unknown as Template;
}

/** The literal text of a TemplateURL (`Fn::Sub` and `Fn::Join` parts kept as written), or undefined. */
function urlText(url: unknown): string | undefined {
  if (typeof url === 'string') return url;
  if (url === null || typeof url !== 'object') return undefined;
  const o = url as Record<string, unknown>;
  const sub = o['Fn::Sub'];
  if (typeof sub === 'string') return sub;
  if (Array.isArray(sub) && typeof sub[0] === 'string') return sub[0];
  const join = o['Fn::Join'];
  if (Array.isArray(join) && Array.isArray(join[1])) {
    return join[1].map((p) => (typeof p === 'string' ? p : '')).join(String(join[0] ?? ''));
  }
  return undefined;
}

/** The file names a nested TemplateURL may stand for: its last path segment, then that without a hash. */
export function nestedFileCandidates(url: unknown): string[] {
  const text = urlText(url);
  if (text === undefined) return [];
  const last = text.split('?')[0]!.split('/').pop() ?? '';
  if (last === '' || last.includes('${')) return [];
  const unhashed = last.replace(/-[0-9a-f]{64}(\.[a-z]+)$/, '$1');
  return unhashed === last ? [last] : [last, unhashed];
}

function nestedFile(parent: string, parentTemplate: Template, logicalId: string, manifest?: Manifest): string {
  if (manifest?.stacks[logicalId]) return join(dirname(parent), manifest.stacks[logicalId].file);
  const url = parentTemplate.Resources[logicalId]!.Properties?.['TemplateURL'];
  const candidates = nestedFileCandidates(url);
  const found = candidates.find((c) => isFile(join(dirname(parent), c)));
  if (found) return join(dirname(parent), found);
  throw new UserError(
    candidates.length === 0
      ? `${parent}: nested stack ${logicalId} has a TemplateURL that names no file (${JSON.stringify(url)}); cannot follow it.`
      : `${parent}: the template of nested stack ${logicalId} was not found: looked for ${candidates.map((c) => join(dirname(parent), c)).join(' and ')}.`,
  );
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Loads a stack and its nested stacks. A nested stack is named by its logical-ID path below the root
 * (`MasterZone`); `rootPrefix` qualifies those names when a set holds several roots, which would
 * otherwise share them.
 */
function loadStack(file: string, name: string, parent: Stack['parent'], manifest: Manifest | undefined, seen: Set<string>, rootPrefix = ''): Stack {
  if (seen.has(file)) throw new UserError(`${file} nests itself (a TemplateURL cycle through ${[...seen].join(', ')}).`);
  const template = readTemplate(file);
  const stack: Stack = { name, file, template, parent, children: new Map() };
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== NESTED_STACK_TYPE) continue;
    const childFile = nestedFile(file, template, id, manifest);
    const childName = parent ? `${name}/${id}` : `${rootPrefix}${id}`;
    // The manifest describes the root's children only; deeper levels go by file name.
    stack.children.set(id, loadStack(childFile, childName, { stack, logicalId: id }, undefined, new Set([...seen, file])));
  }
  return stack;
}

function descendants(stack: Stack): Stack[] {
  return [stack, ...[...stack.children.values()].flatMap(descendants)];
}

/** The root templates a path stands for: a file, a folder with a manifest, or a folder of templates. */
function rootsOf(path: string): { file: string; manifest?: Manifest }[] {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new UserError(`${path} not found. Give a template file or a folder of templates (default: out/, written by 'npm run synth').`);
  }
  if (!isDir) return [{ file: path }];
  const names = readdirSync(path).filter((f) => TEMPLATE_FILE.test(f) && f !== MANIFEST_FILE).sort();
  if (isFile(join(path, MANIFEST_FILE))) {
    const manifest = readManifest(path);
    return [{ file: join(path, manifest.root), manifest }];
  }
  if (names.length === 0) throw new UserError(`${path}/ holds no templates (*.yaml, *.yml, *.json, *.template).`);
  // Without a manifest, the roots are the templates no other template in the folder nests.
  const nested = new Set<string>();
  for (const name of names) {
    const template = readTemplate(join(path, name));
    for (const r of Object.values(template.Resources)) {
      if (r.Type === NESTED_STACK_TYPE) nestedFileCandidates(r.Properties?.['TemplateURL']).forEach((c) => nested.add(c));
    }
  }
  return names.filter((n) => !nested.has(n)).map((n) => ({ file: join(path, n) }));
}

/** Loads the template set the paths stand for (files and folders, see `rootsOf`), following nested stacks. */
export function loadTemplateSet(paths: readonly string[]): TemplateSet {
  if (paths.length === 0) throw new UserError('No template given.');
  const found = paths.flatMap(rootsOf);
  const roots = found.map(({ file, manifest }) => {
    const name = basename(file).replace(TEMPLATE_FILE, '');
    // Several roots (two clusters' out/ folders, say) each have a MasterZone: name theirs by the root's file.
    const prefix = found.length > 1 ? `${file.replace(TEMPLATE_FILE, '')}:` : '';
    return loadStack(file, found.length > 1 ? file.replace(TEMPLATE_FILE, '') : name, undefined, manifest, new Set(), prefix);
  });
  return { label: paths.join(' '), roots, stacks: roots.flatMap(descendants) };
}

/** A template synth compiled, still in memory: its file name, and its nested stack's logical ID in the root. */
export interface TemplateInMemory {
  readonly id?: string;
  readonly file: string;
  readonly template: object;
}

/**
 * The template set of a root and its nested stacks held in memory, as `loadTemplateSet` would load it from
 * the folder `dir` they are written to (same names and paths), so synth audits the objects it compiled.
 * Each template is taken in its long JSON form (intrinsic objects through their `toJSON`), the form its
 * YAML reads back to.
 */
export function templateSetOf(dir: string, root: TemplateInMemory, children: readonly TemplateInMemory[]): TemplateSet {
  const plain = (t: TemplateInMemory) => JSON.parse(JSON.stringify(t.template)) as Template;
  const rootStack: Stack = { name: basename(root.file).replace(TEMPLATE_FILE, ''), file: join(dir, root.file), template: plain(root), children: new Map() };
  for (const child of children) {
    if (child.id === undefined) throw new Error(`templateSetOf: nested template ${child.file} has no logical ID`);
    rootStack.children.set(child.id, { name: child.id, file: join(dir, child.file), template: plain(child), parent: { stack: rootStack, logicalId: child.id }, children: new Map() });
  }
  return { label: dir, roots: [rootStack], stacks: descendants(rootStack) };
}
