/**
 * A user-added cluster definition for one test: its source `stacks/clusters/NAME.ts` (a definition is listed
 * and loaded only when its source exists) and the module the CLI loads (`dist/stacks/clusters/NAME.js`), both
 * removed afterwards. `compiled: false` leaves the module out, `source: false` the source (a stale copy).
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFINITIONS_DIR, PROJECT_DIR } from '../../lib/build.js';

export interface DefinitionFiles {
  /** Write the source file. @default true */
  readonly source?: boolean;
  /** Write the loaded module. @default true */
  readonly compiled?: boolean;
}

/** Runs `fn` with the definition in place; `code` is plain JavaScript, which is also valid TypeScript. */
export async function withDefinition<T>(name: string, code: string, fn: () => T | Promise<T>, files: DefinitionFiles = {}): Promise<T> {
  const source = join(PROJECT_DIR, DEFINITIONS_DIR, `${name}.ts`);
  const compiled = join(PROJECT_DIR, 'dist', 'stacks', 'clusters', `${name}.js`);
  try {
    if (files.source ?? true) writeFileSync(source, code);
    if (files.compiled ?? true) writeFileSync(compiled, code);
    return await fn();
  } finally {
    rmSync(source, { force: true });
    rmSync(compiled, { force: true });
  }
}

/** A definition file's code: `export default defineCluster(<literal>)`, or any other default export. */
export function definitionCode(body: string, { define = true } = {}): string {
  return define ? `import { defineCluster } from '../config.js';\nexport default defineCluster(${body});\n` : `export default ${body};\n`;
}
