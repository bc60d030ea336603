/**
 * A user's own cluster definition, as a user adds one: `stacks/clusters/<name>.ts`, removed afterwards
 * with whatever building it left in `dist/`.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Writes `stacks/clusters/<name>.ts` with `source`, runs `fn`, then removes the file and its build output. */
export function withDefinition<T>(name: string, source: string, fn: () => T): T {
  const file = join(process.cwd(), `stacks/clusters/${name}.ts`);
  writeFileSync(file, source);
  try {
    return fn();
  } finally {
    for (const path of [file, `dist/stacks/clusters/${name}.js`, `dist/stacks/clusters/${name}.js.map`]) rmSync(path, { force: true });
  }
}

/** A definition file's text: `defineCluster(<definition>)` as its default export. */
export const definitionSource = (definition: string) => `import { defineCluster } from '../config.js';\nexport default defineCluster(${definition});\n`;
