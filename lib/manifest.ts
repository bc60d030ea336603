/**
 * `out/manifest.json`: what synth wrote, and the contract deploy, package and audit rely on.
 *
 * ```json
 * { "root": "root.yaml", "cluster": "default",
 *   "stacks": { "Network": { "file": "network.yaml", "sha256": "<hex>" }, ... } }
 * ```
 * Keys of `stacks` are the nested stacks' logical IDs in the root template. Each nested stack's
 * TemplateURL in the root is `${TemplateBaseUrl}/<templateKey(file, sha256)>`, so an unchanged child keeps
 * its URL and can be uploaded once under that content-hash key.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from './errors.js';

export const MANIFEST_FILE = 'manifest.json';

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
  /** Name of the cluster definition that was synthesized. */
  readonly cluster?: string;
  /** Nested stacks by their logical ID in the root template. */
  readonly stacks: Readonly<Record<string, ManifestEntry>>;
}

export function sha256(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** The object key (relative to the template base URL) under which a nested template is uploaded. */
export function templateKey(file: string, hash: string): string {
  return `${file.replace(/\.(ya?ml|json)$/, '')}-${hash}${/\.(ya?ml|json)$/.exec(file)?.[0] ?? ''}`;
}

/** Reads and checks `<dir>/manifest.json`; every file it names must exist with the recorded hash. */
export function readManifest(dir: string): Manifest {
  const path = join(dir, MANIFEST_FILE);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UserError(
      code === 'ENOENT'
        ? `${path} not found. Run 'npm run synth' first.`
        : `${path} is not valid JSON (${(err as Error).message}). Run 'npm run synth' to write it again.`,
    );
  }
  if (typeof manifest.root !== 'string' || typeof manifest.stacks !== 'object' || manifest.stacks === null) {
    throw new UserError(`${path} lacks "root" or "stacks". Run 'npm run synth' to write it again.`);
  }
  for (const [id, entry] of Object.entries(manifest.stacks)) {
    let content: Buffer;
    try {
      content = readFileSync(join(dir, entry.file));
    } catch {
      throw new UserError(`${path} names ${entry.file} for stack ${id}, but the file is missing. Run 'npm run synth'.`);
    }
    if (sha256(content) !== entry.sha256) {
      throw new UserError(`${join(dir, entry.file)} changed after synth (hash differs from ${MANIFEST_FILE}). Run 'npm run synth'.`);
    }
  }
  return manifest;
}
