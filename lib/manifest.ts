/**
 * `out/manifest.json`: what synth wrote, and the contract deploy, package and audit rely on.
 *
 * ```json
 * { "root": "root.yaml", "rootSha256": "<hex>", "cluster": "dcos", "definition": "default",
 *   "stacks": { "Network": { "file": "network.yaml", "sha256": "<hex>" }, ... },
 *   "genconf": { "config.yaml": "<hex>", "ip-detect": "<hex>" },
 *   "bundle": { "region": "us-east-1", "bucket": "dcos-dcos-bundle-us-east-1", "prefix": "dcos", "url": "https://..." },
 *   "sources": { "lib/synth.ts": "<hex>", "stacks/clusters/default.ts": "<hex>", ... } }
 * ```
 * Keys of `stacks` are the nested stacks' logical IDs in the root template. Each nested stack's
 * TemplateURL in the root is `${TemplateBaseUrl}/<templateKey(file, sha256)>`, so an unchanged child keeps
 * its URL and can be uploaded once under that content-hash key. Every file a command reads from the folder,
 * the root included, is checked against its hash here (`readVerified`), so what deploy and package ship is
 * byte for byte what synth, lint and the audit saw.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError, ValidationError } from './errors.js';

export const MANIFEST_FILE = 'manifest.json';

/** The folder inside the template folder that `npm run package` writes. */
export const PACKAGED_DIR = 'packaged';

/**
 * What in a template folder's `packaged/` package did not write (it writes a root template, `root.yaml`, and each
 * nested template under its content-hash key, `network-<sha256>.yaml`), relative to the template folder:
 * `packaged/notes.txt`, or `packaged` itself when it is not a folder. Synth and package never delete these.
 */
export function foreignPackaged(templateDir: string): string[] {
  const dir = join(templateDir, PACKAGED_DIR);
  let entries: string[];
  try {
    if (!statSync(dir).isDirectory()) return [PACKAGED_DIR];
    entries = readdirSync(dir);
  } catch {
    return [];
  }
  return entries.filter((e) => e !== 'root.yaml' && !/^[a-z0-9][a-z0-9-]*-[0-9a-f]{64}\.(ya?ml|json)$/.test(e)).map((e) => `${PACKAGED_DIR}/${e}`).sort();
}

/** The root template parameter that holds the S3 base URL the nested templates were uploaded to. */
export const TEMPLATE_BASE_URL_PARAMETER = 'TemplateBaseUrl';

export interface ManifestEntry {
  /** File name inside the output folder. */
  readonly file: string;
  /** Hex SHA-256 of the file's bytes. */
  readonly sha256: string;
}

export interface Manifest {
  /** File name of the root template. */
  readonly root: string;
  /** Hex SHA-256 of the root template's bytes. */
  readonly rootSha256: string;
  /** The cluster's name (`ClusterConfig.name`). */
  readonly cluster?: string;
  /** The definition that was synthesized: `stacks/clusters/<definition>.ts`. */
  readonly definition?: string;
  /** Nested stacks by their logical ID in the root template. */
  readonly stacks: Readonly<Record<string, ManifestEntry>>;
  /**
   * The DC/OS configuration synth wrote to `genconf/` (stacks/genconf.ts): file name → hex SHA-256. Absent in an
   * older synth's manifest.
   */
  readonly genconf?: Readonly<Record<string, string>>;
  /** Where the DC/OS install bundle goes (`npm run bundle`) and the nodes fetch it from. Absent in an older synth's manifest. */
  readonly bundle?: BundleLocation;
  /** Hex SHA-256 of each file the output was made from, by its path in the project (lib/sources.ts). */
  readonly sources?: Readonly<Record<string, string>>;
}

/** The folder of the output that holds the DC/OS configuration. */
export const GENCONF_FOLDER = 'genconf';

/** A cluster's bundle location: `url` is `https://<bucket>.s3.<region>.amazonaws.com/<prefix>`, the config's bootstrap_url. */
export interface BundleLocation {
  readonly region: string;
  readonly bucket: string;
  readonly prefix: string;
  readonly url: string;
}

export function sha256(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** The object key (relative to the template base URL) under which a nested template is uploaded. */
export function templateKey(file: string, hash: string): string {
  return `${file.replace(/\.(ya?ml|json)$/, '')}-${hash}${/\.(ya?ml|json)$/.exec(file)?.[0] ?? ''}`;
}

/** A file name inside the output folder: no path, so a manifest cannot point outside it. */
const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*\.(ya?ml|json)$/;
const HEX_SHA256 = /^[0-9a-f]{64}$/;
const STACK_ID = /^[A-Za-z][A-Za-z0-9]*$/;
/** A file name inside `genconf/` (`config.yaml`, `ip-detect`): no path. */
const GENCONF_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** A relative path inside the project, `/`-separated. */
const SOURCE_PATH = /^[\w@.-]+(\/[\w@.-]+)*$/;
const DEFINITION_NAME = /^[\w.-]+$/;

/** Reads `<dir>/manifest.json` and checks its shape (every problem at once); the files are not read. */
export function parseManifest(dir: string): Manifest {
  const path = join(dir, MANIFEST_FILE);
  const again = "Run 'npm run synth' to write it again.";
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(
      code === 'ENOENT'
        ? `${path} not found. Run 'npm run synth' first.`
        : code
          ? `${path} cannot be read (${code}). Check the folder's permissions.`
          : `${path} is not valid JSON (${(err as Error).message}). ${again}`,
    );
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new UserError(`${path} holds ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : `a ${typeof raw}`}, not a synth manifest (an object with "root", "rootSha256" and "stacks"). ${again}`);
  }
  const m = raw as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof m['root'] !== 'string' || !FILE_NAME.test(m['root'])) problems.push(`root: got ${JSON.stringify(m['root'])}, expected a template file name in the folder`);
  if (typeof m['rootSha256'] !== 'string' || !HEX_SHA256.test(m['rootSha256'])) {
    problems.push(`rootSha256: got ${JSON.stringify(m['rootSha256'])}, expected the root template's hex SHA-256 (an older synth did not write it)`);
  }
  const stacks = m['stacks'];
  if (stacks === null || typeof stacks !== 'object' || Array.isArray(stacks)) {
    problems.push(`stacks: got ${JSON.stringify(stacks)}, expected an object of nested stacks`);
  } else {
    for (const [id, entry] of Object.entries(stacks)) {
      const e = entry as { file?: unknown; sha256?: unknown } | null;
      if (!STACK_ID.test(id)) problems.push(`stacks: ${JSON.stringify(id)} is not a logical ID`);
      if (typeof e?.file !== 'string' || !FILE_NAME.test(e.file)) problems.push(`stacks.${id}.file: got ${JSON.stringify(e?.file)}, expected a template file name in the folder`);
      if (typeof e?.sha256 !== 'string' || !HEX_SHA256.test(e.sha256)) problems.push(`stacks.${id}.sha256: got ${JSON.stringify(e?.sha256)}, expected a hex SHA-256`);
    }
  }
  const genconf = m['genconf'];
  if (genconf !== undefined) {
    if (genconf === null || typeof genconf !== 'object' || Array.isArray(genconf)) problems.push(`genconf: got ${JSON.stringify(genconf)}, expected an object of file names and hashes`);
    else {
      for (const [name, hash] of Object.entries(genconf)) {
        if (!GENCONF_NAME.test(name)) problems.push(`genconf: ${JSON.stringify(name)} is not a file name`);
        if (typeof hash !== 'string' || !HEX_SHA256.test(hash)) problems.push(`genconf.${name}: got ${JSON.stringify(hash)}, expected a hex SHA-256`);
      }
    }
  }
  const bundle = m['bundle'] as Record<string, unknown> | null | undefined;
  if (bundle !== undefined && (bundle === null || typeof bundle !== 'object' || !['region', 'bucket', 'prefix', 'url'].every((k) => typeof bundle[k] === 'string'))) {
    problems.push(`bundle: got ${JSON.stringify(bundle)}, expected {"region", "bucket", "prefix", "url"} strings`);
  }
  const sources = m['sources'];
  if (sources !== undefined) {
    if (sources === null || typeof sources !== 'object' || Array.isArray(sources)) problems.push(`sources: got ${JSON.stringify(sources)}, expected an object of file hashes`);
    else {
      for (const [file, hash] of Object.entries(sources)) {
        if (!SOURCE_PATH.test(file) || file.split('/').includes('..')) problems.push(`sources: ${JSON.stringify(file)} is not a path inside the project`);
        if (typeof hash !== 'string' || !HEX_SHA256.test(hash)) problems.push(`sources.${file}: got ${JSON.stringify(hash)}, expected a hex SHA-256`);
      }
    }
  }
  if (m['definition'] !== undefined && (typeof m['definition'] !== 'string' || !DEFINITION_NAME.test(m['definition']))) {
    problems.push(`definition: got ${JSON.stringify(m['definition'])}, expected a definition's name`);
  }
  if (problems.length) throw new ValidationError(`${path} is not a valid synth manifest. ${again}`, problems);
  return raw as Manifest;
}

/**
 * Reads one file of the output folder and checks it against the hash the manifest recorded; a missing or
 * changed file is refused with its name. Returns the bytes that were checked (read once, so what is checked is
 * what is used).
 */
export function readVerified(dir: string, file: string, expected: string, what: string): Buffer {
  const path = join(dir, file);
  let content: Buffer;
  try {
    content = readFileSync(path);
  } catch {
    throw new UserError(`${join(dir, MANIFEST_FILE)} names ${file} for ${what}, but the file is missing. Run 'npm run synth'.`);
  }
  if (sha256(content) !== expected) {
    throw new UserError(`${path} changed after synth (its hash differs from ${MANIFEST_FILE}): refusing to use a template that was not checked. Run 'npm run synth'.`);
  }
  return content;
}

/** Reads one file of the DC/OS configuration (`genconf/<name>`), checked against its manifest hash. */
export function readGenconf(dir: string, manifest: Manifest, name: string): Buffer {
  const hash = manifest.genconf?.[name];
  if (hash === undefined) throw new UserError(`${join(dir, MANIFEST_FILE)} names no ${GENCONF_FOLDER}/${name}: it was written by an older synth. Run 'npm run synth'.`);
  return readVerified(dir, `${GENCONF_FOLDER}/${name}`, hash, 'the DC/OS configuration');
}

/** Reads and checks `<dir>/manifest.json`; every file it names, the root and genconf/ included, must exist with the recorded hash. */
export function readManifest(dir: string): Manifest {
  const manifest = parseManifest(dir);
  readVerified(dir, manifest.root, manifest.rootSha256, 'the root template');
  for (const [id, entry] of Object.entries(manifest.stacks)) readVerified(dir, entry.file, entry.sha256, `stack ${id}`);
  for (const name of Object.keys(manifest.genconf ?? {})) readGenconf(dir, manifest, name);
  return manifest;
}
