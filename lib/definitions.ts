/**
 * Cluster definitions at run time: which exist, and loading one. A definition is listed and loaded only
 * when its source `stacks/clusters/NAME.ts` exists (a stale compiled copy of a deleted file is neither).
 * Loading is `importDefinition` alone, so the way a definition becomes a module can change without touching
 * the checks around it: a definition that throws is reported with its file and the error's message, and the
 * loaded value's shape is checked (`checkDefinitionShape`) before anything uses it.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { UserError, ValidationError } from './errors.js';
import { DEFINITIONS_DIR } from './project.js';
import { nearest } from './suggest.js';
import type { ClusterConfig } from '../stacks/config.js';
import { checkDefinitionShape } from '../stacks/validate.js';

/** The compiled definitions beside this module's compiled stacks/ (dist/stacks/clusters/). */
const COMPILED_DIR = new URL('../stacks/clusters/', import.meta.url);

/** The source file of a definition, as messages name it. */
export function definitionFile(name: string): string {
  return `stacks/clusters/${name}.ts`;
}

/** Names of the cluster definitions whose source exists under `stacks/clusters/` and that can be loaded. */
export function knownClusters(): string[] {
  let compiled: string[];
  try {
    compiled = readdirSync(COMPILED_DIR).filter((f) => f.endsWith('.js'));
  } catch {
    compiled = [];
  }
  return compiled
    .map((f) => f.slice(0, -3))
    .filter((name) => existsSync(join(DEFINITIONS_DIR, `${name}.ts`)))
    .sort();
}

/** The module of a definition: the one place that knows how a definition file becomes code. */
async function importDefinition(name: string): Promise<unknown> {
  return ((await import(new URL(`${name}.js`, COMPILED_DIR).href)) as { default?: unknown }).default;
}

/** Loads `stacks/clusters/<name>.ts` and checks the shape of its default export. */
export async function loadCluster(name: string): Promise<ClusterConfig> {
  const known = knownClusters();
  if (!known.includes(name)) {
    const near = nearest(name, known);
    throw new UserError(
      `Unknown cluster '${name}'. Known clusters: ${known.join(', ')}.${near.length ? ` Did you mean ${near.join(' or ')}?` : ''} Add yours as ${definitionFile(name)}.`,
    );
  }
  let value: unknown;
  try {
    value = await importDefinition(name);
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    throw new UserError(`${definitionFile(name)} failed to load: ${e.name}: ${e.message.split('\n')[0]}. Fix the definition and run synth again.`);
  }
  const problems = checkDefinitionShape(value);
  if (problems.length) throw new ValidationError(`${definitionFile(name)} does not export a valid cluster definition:`, problems);
  return value as ClusterConfig;
}
