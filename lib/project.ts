/**
 * Where this project is on disk: the folder with its package.json, found by walking up from this module
 * (compiled into dist/lib/, or run from lib/ directly), so the answer does not depend on how it is loaded.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'dcos-cfn') return dir;
      } catch {
        // not ours; keep walking up
      }
    }
    const parent = dirname(dir);
    if (parent === dir) return join(dirname(fileURLToPath(import.meta.url)), '..', '..');
    dir = parent;
  }
}

/** The project's root folder (package.json, lib/, stacks/, .git, node_modules). */
export const PROJECT_ROOT = findRoot();

/** The folder of the cluster definitions' sources: `stacks/clusters/NAME.ts`. */
export const DEFINITIONS_DIR = join(PROJECT_ROOT, 'stacks', 'clusters');
