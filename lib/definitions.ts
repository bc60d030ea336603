/**
 * Cluster definitions at run time: which exist, and loading one. A definition is listed and loaded only
 * when its source `stacks/clusters/NAME.ts` exists (a stale compiled copy of a deleted file is neither).
 * Loading is `importDefinition` alone, so the way a definition becomes a module can change without touching
 * the checks around it: a definition edited since it was last built is type-checked alone while the command
 * goes on with it (`buildDefinition`), its type errors blocking it and only it before anything is written; a
 * definition that throws is reported with its file and the error's message (or with its type errors, if it
 * has any), and the loaded value's shape is checked (`checkDefinitionShape`) before anything uses it.
 */
import { pathToFileURL } from 'node:url';
import { buildDefinition, definitionNames } from './build.js';
import { UserError, ValidationError } from './errors.js';
import { nearest } from './suggest.js';
import type { ClusterConfig } from '../stacks/config.js';
import { checkDefinitionShape } from '../stacks/validate.js';

/** The source file of a definition, as messages name it. */
export function definitionFile(name: string): string {
  return `stacks/clusters/${name}.ts`;
}

/** Names of the cluster definitions: their sources under `stacks/clusters/` (built when loaded). */
export function knownClusters(): string[] {
  return definitionNames();
}

/** A loaded definition, and its type check, which settles later (`buildDefinition`). */
export interface LoadedCluster {
  readonly config: ClusterConfig;
  /**
   * Resolves when the definition type-checks; rejects with a ValidationError listing its type errors
   * (`file:line:column message`). A command awaits it before it writes anything.
   */
  readonly typeChecked: Promise<void>;
}

/**
 * Runs `work`; if it fails, a type error of the definition, which explains the failure better than its
 * consequence (a string where a number belongs, then a config check failing on it), is thrown instead.
 */
export async function typeErrorsFirst<T>(typeChecked: Promise<void>, work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    await typeChecked;
    throw err;
  }
}

/**
 * The module of a definition and its type check: the one place that knows how a definition file becomes
 * code. Throws a ValidationError with its problems (`file:line:column message`) when it does not even transpile.
 */
async function importDefinition(name: string): Promise<{ readonly value: unknown; readonly typeChecked: Promise<void> }> {
  const notCompiling = (problems: readonly string[]) =>
    new ValidationError(`${definitionFile(name)} does not compile; fix it and run the command again (other clusters are not affected):`, problems);
  const built = await buildDefinition(name);
  if ('problems' in built) throw notCompiling(built.problems);
  const typeChecked = built.typeErrors.then((problems) => {
    if (problems.length > 0) throw notCompiling(problems);
  });
  typeChecked.catch(() => {}); // awaited by the command
  const value = await typeErrorsFirst(typeChecked, async () => ((await import(pathToFileURL(built.file).href)) as { default?: unknown }).default);
  return { value, typeChecked };
}

/**
 * Loads `stacks/clusters/<name>.ts` and checks the shape of its default export. Its type check may still run:
 * await `typeChecked` before writing anything.
 */
export async function loadCluster(name: string): Promise<LoadedCluster> {
  const known = knownClusters();
  if (!known.includes(name)) {
    const near = nearest(name, known);
    throw new UserError(
      `Unknown cluster '${name}'. Known clusters: ${known.join(', ')}.${near.length ? ` Did you mean ${near.join(' or ')}?` : ''} Add yours as ${definitionFile(name)}.`,
    );
  }
  let loaded: Awaited<ReturnType<typeof importDefinition>>;
  try {
    loaded = await importDefinition(name);
  } catch (err) {
    if (err instanceof UserError) throw err;
    const e = err instanceof Error ? err : new Error(String(err));
    throw new UserError(`${definitionFile(name)} failed to load: ${e.name}: ${e.message.split('\n')[0]}. Fix the definition and run synth again.`);
  }
  const problems = checkDefinitionShape(loaded.value);
  if (problems.length) {
    await loaded.typeChecked;
    throw new ValidationError(`${definitionFile(name)} does not export a valid cluster definition:`, problems);
  }
  return { config: loaded.value as ClusterConfig, typeChecked: loaded.typeChecked };
}
