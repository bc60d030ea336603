/**
 * The sources an output folder was made from, so that deploy, diff and package can tell an `out/` that no longer
 * matches them (review: an edit of another cluster's definition must not block a deploy; an edit of lib/yaml.ts
 * must).
 *
 * Synth records in the manifest the SHA-256 of each file that decides what it writes (`sources`): the definition
 * it compiled, every project module the compiler imports from `lib/synth.ts` on (followed through the import
 * statements of the TypeScript sources, `import()`, `require()` and `createRequire(...)(...)` included), the data
 * files the stack functions read (everything under `stacks/` that is not TypeScript, such as the user-data
 * programs, outside `stacks/clusters/`), and the `package.json` of each npm package those modules import (a new
 * version of the YAML library may write other bytes). Type-only imports are left out: they change no output.
 *
 * Why this is enough: a change to what the compiler runs is a change to one of these files, since a new import, a
 * new data file or another package version needs an edit of a recorded module or a recorded `package.json`.
 * Comparing the recorded hashes with the files now is therefore a sound staleness check, and reads only the files
 * recorded (a few dozen, a few milliseconds).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { definitionFile, DEFINITIONS_DIR, PROJECT_DIR } from './build.js';
import { sha256 } from './manifest.js';

/** The compiler's entry module, relative to the project. */
const COMPILER = 'lib/synth.ts';

/** Static, dynamic and `require` specifiers in a TypeScript source; `import type` / `export type` are skipped. */
const SPECIFIERS = [
  /\b(?:import|export)\s+(?!type\b)[\w*{}\s,$]*?\bfrom\s*['"]([^'"]+)['"]/g,
  /\bimport\s*['"]([^'"]+)['"]/g,
  /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
  /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
  /\bcreateRequire\([^)]*\)\(\s*['"]([^'"]+)['"]\s*\)/g,
];

/** `yaml/package.json` → `yaml`; `@scope/name/x` → `@scope/name`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** A project file (relative, `/`-separated) for a relative specifier, or undefined when there is none. */
function resolveRelative(from: string, specifier: string): string | undefined {
  const target = normalize(join(dirname(from), specifier));
  for (const candidate of [target.replace(/\.js$/, '.ts'), target]) {
    if (existsSync(join(PROJECT_DIR, candidate)) && statSync(join(PROJECT_DIR, candidate)).isFile()) return candidate.split(sep).join('/');
  }
  return undefined;
}

/** Every non-TypeScript file under stacks/ outside the definitions: what the stack functions may read. */
function stackDataFiles(): string[] {
  const stacks = join(PROJECT_DIR, 'stacks');
  return (readdirSync(stacks, { recursive: true }) as string[])
    .map((f) => `stacks/${f.split(sep).join('/')}`)
    .filter((f) => !f.endsWith('.ts') && !f.startsWith(`${DEFINITIONS_DIR}/`) && statSync(join(PROJECT_DIR, f)).isFile());
}

/**
 * The files that decide what synth writes for a definition (relative to the project, sorted): the definition's
 * source, the compiler's modules, the stacks' data files and the imported packages' `package.json`.
 * @param definition the definition's name (`default`); undefined for templates compiled from a config object.
 */
function synthSources(definition?: string): string[] {
  const found = new Set<string>();
  const queue = [COMPILER, ...(definition !== undefined ? [definitionFile(definition)] : [])];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (found.has(file)) continue;
    found.add(file);
    if (!file.endsWith('.ts')) continue;
    const text = readFileSync(join(PROJECT_DIR, file), 'utf8');
    for (const pattern of SPECIFIERS) {
      for (const [, specifier] of text.matchAll(pattern)) {
        if (specifier!.startsWith('node:')) continue;
        if (specifier!.startsWith('.')) {
          const resolved = resolveRelative(file, specifier!);
          if (resolved) queue.push(resolved);
          continue;
        }
        const manifest = `node_modules/${packageName(specifier!)}/package.json`;
        if (existsSync(join(PROJECT_DIR, manifest))) found.add(manifest);
      }
    }
  }
  for (const data of stackDataFiles()) found.add(data);
  return [...found].sort();
}

/** `{ file: sha256 }` of the sources of a definition's output, for the manifest. */
export function hashSources(definition?: string): Record<string, string> {
  return Object.fromEntries(synthSources(definition).map((f) => [f, sha256(readFileSync(join(PROJECT_DIR, f)))]));
}

/**
 * The recorded sources that are no longer as they were: changed, or gone. Paths are relative to the project.
 * @param recorded the manifest's `sources`.
 */
export function changedSources(recorded: Readonly<Record<string, string>>): string[] {
  return Object.entries(recorded)
    .filter(([file, hash]) => {
      const path = join(PROJECT_DIR, file);
      if (relative(PROJECT_DIR, path).startsWith('..')) return true; // never read outside the project
      try {
        return sha256(readFileSync(path)) !== hash;
      } catch {
        return true;
      }
    })
    .map(([file]) => file)
    .sort();
}
