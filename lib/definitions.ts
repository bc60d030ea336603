/**
 * Cluster definitions at run time: which exist, and loading one. A definition is listed and loaded only
 * when its source `stacks/clusters/NAME.ts` exists (a stale compiled copy of a deleted file is neither).
 * Loading is `importDefinition` alone, so the way a definition becomes a module can change without touching
 * the checks around it: a definition edited since it was last built is type-checked alone and emitted first
 * (`buildDefinition`), its type errors blocking it and only it; a definition that throws is reported with its
 * file and the error's message, and the loaded value's shape is checked (`checkDefinitionShape`) before
 * anything uses it; a shape problem is reported together with the value problems (`validateDefinition`).
 */
import { pathToFileURL } from 'node:url';
import { buildDefinition, definitionFile, definitionNames } from './build.js';
import { UserError, ValidationError } from './errors.js';
import { onInterrupt, stopOnInterrupt } from './interrupt.js';
import { nearest } from './suggest.js';
import type { ClusterConfig } from '../stacks/config.js';
import { checkDefinitionShape, validateDefinition } from '../stacks/validate.js';

/** Names of the cluster definitions: their sources under `stacks/clusters/` (built when loaded). */
export function knownClusters(): string[] {
  return definitionNames();
}

/**
 * The module of a definition: the one place that knows how a definition file becomes code. Throws a
 * ValidationError with its type errors (`file:line:column message`) when it does not compile.
 */
async function importDefinition(name: string): Promise<unknown> {
  const built = await buildDefinition(name, { onInterrupt, stopOnInterrupt });
  if ('problems' in built) {
    throw new ValidationError(`${definitionFile(name)} does not compile; fix it and run the command again (other clusters are not affected):`, built.problems);
  }
  return ((await import(pathToFileURL(built.file).href)) as { default?: unknown }).default;
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
    if (err instanceof UserError) throw err;
    const e = err instanceof Error ? err : new Error(String(err));
    throw new UserError(`${definitionFile(name)} failed to load: ${e.name}: ${e.message.split('\n')[0]}. Fix the definition and run synth again.`);
  }
  // A shape problem is reported with every value problem the checks can still find, all in one run.
  if (checkDefinitionShape(value).length) throw new ValidationError(`${definitionFile(name)} does not export a valid cluster definition:`, validateDefinition(value));
  return value as ClusterConfig;
}
