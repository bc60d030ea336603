/**
 * Builds what a command needs, and nothing more, so that no command waits for a compiler.
 *
 * - `ensureBuilt` (run by `bin/dcos-cfn.mjs` before every command) transpiles, with esbuild, each source
 *   under `lib/` and `stacks/` whose `dist/` output is missing or older than it or than tsconfig.json; with
 *   nothing changed it only compares modification times (~80 files, a few ms). Cluster definitions are left to
 * - `buildDefinition`, called when a command loads one: a definition that changed (or whose library
 *   changed) is type-checked alone by tsgo while the command goes on with a copy transpiled by esbuild; the
 *   command awaits the check before it writes anything. A type error in it blocks only that definition,
 *   reported as `file:line:column message`; other clusters and commands that load no definition run.
 *
 * Type checking of the whole project (tests included) is `npm run check` and `npm test` (`tsgo -p .`, which
 * also writes `dist/`, so a fresh test build leaves nothing to transpile). Transpiling file by file needs
 * `isolatedModules`, which tsconfig.json sets so `npm run check` reports what esbuild could not handle.
 *
 * This module imports nothing of the project: the launcher transpiles it first, alone.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project folder (this file runs as `<project>/dist/lib/build.js`). */
export const PROJECT_DIR = fileURLToPath(new URL('../../', import.meta.url));
const DIST_DIR = join(PROJECT_DIR, 'dist');
/** Where cluster definitions live, relative to the project. */
export const DEFINITIONS_DIR = 'stacks/clusters';
/** Sources every command may load, relative to the project; definitions excepted. */
const LIBRARY_DIRS = ['lib', 'stacks'];

/** Modification time in ms, -1 for a missing file. */
const mtime = (path: string): number => statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? -1;

/** `dist/` path of a source, relative to the project: `lib/x.ts` → `dist/lib/x.js`. */
export function outputOf(source: string): string {
  return join(DIST_DIR, source.replace(/\.ts$/, '.js'));
}

/** The library's sources (relative to the project), definitions excluded. */
function librarySources(): string[] {
  return LIBRARY_DIRS.flatMap((dir) =>
    (readdirSync(join(PROJECT_DIR, dir), { recursive: true }) as string[])
      .map((f) => join(dir, f))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && !f.startsWith(`${DEFINITIONS_DIR}/`)),
  );
}

let newestLibrary: number | undefined;

/** The newest modification time among the library's sources and tsconfig.json. */
function newestLibraryTime(sources: readonly string[] = librarySources()): number {
  return (newestLibrary ??= Math.max(mtime(join(PROJECT_DIR, 'tsconfig.json')), ...sources.map((s) => mtime(join(PROJECT_DIR, s)))));
}

/**
 * Transpiles each library source whose output is missing or older than it or than tsconfig.json. Returns the
 * problems (`file:line:column message`), empty when everything the commands load is built.
 */
export async function ensureBuilt(): Promise<string[]> {
  const sources = librarySources();
  newestLibraryTime(sources);
  const options = mtime(join(PROJECT_DIR, 'tsconfig.json'));
  const stale = sources.filter((s) => mtime(outputOf(s)) < Math.max(options, mtime(join(PROJECT_DIR, s))));
  return stale.length === 0 ? [] : transpile(stale);
}

/**
 * The compiler options esbuild needs from tsconfig.json. esbuild strips types and lowers nothing else
 * (target es2022, as tsgo emits); it reads class-field semantics from these options.
 */
function tsconfigRaw(): string {
  return readFileSync(join(PROJECT_DIR, 'tsconfig.json'), 'utf8');
}

/** esbuild's output for one source: its JavaScript, ending with the comment naming its map, and the map. */
interface Transpiled {
  readonly code: string;
  readonly map: string;
}

/** Transpiles one source's text (the source relative to the project) as its `dist/` file; or its problems. */
async function transpileText(source: string, text: string): Promise<Transpiled | { readonly problems: string[] }> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    return { problems: ["esbuild is not installed. Run 'npm install'."] };
  }
  const output = outputOf(source);
  try {
    const result = await esbuild.transform(text, {
      loader: 'ts',
      format: 'esm',
      platform: 'node',
      target: 'es2022',
      sourcemap: 'external',
      sourcefile: relative(dirname(output), join(PROJECT_DIR, source)),
      tsconfigRaw: (raw ??= tsconfigRaw()),
    });
    return { code: `${result.code}//# sourceMappingURL=${basename(output)}.map\n`, map: result.map };
  } catch (err) {
    const errors = (err as { errors?: { text: string; location?: { line: number; column: number } | null }[] }).errors;
    if (!errors) throw err;
    return { problems: errors.map((e) => `${source}${e.location ? `:${e.location.line}:${e.location.column + 1}` : ''} ${e.text}`) };
  }
}

let raw: string | undefined;

/** Transpiles sources (relative to the project) to `dist/`, with source maps; returns the problems. */
export async function transpile(sources: readonly string[]): Promise<string[]> {
  const problems: string[] = [];
  await Promise.all(
    sources.map(async (source) => {
      const js = await transpileText(source, readFileSync(join(PROJECT_DIR, source), 'utf8'));
      if ('problems' in js) {
        problems.push(...js.problems);
        return;
      }
      const output = outputOf(source);
      writeAtomically(output, js.code);
      writeAtomically(`${output}.map`, js.map);
    }),
  );
  return [...new Set(problems)];
}

/** Writes through a temporary file and a rename, so a command running beside this one never loads half a file. */
function writeAtomically(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, content);
  renameSync(temporary, path);
}

/** The names of the cluster definitions: `stacks/clusters/<name>.ts`. */
export function definitionNames(): string[] {
  return readdirSync(join(PROJECT_DIR, DEFINITIONS_DIR))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => f.slice(0, -3))
    .sort();
}

/** A definition ready to import, and whether it type-checks. */
export interface LoadableDefinition {
  /** The module to import: its `dist/` file, or, while its type check runs, a copy beside it. */
  readonly file: string;
  /**
   * Its type errors (`file:line:column message`), empty when it type-checks. Settles when tsgo is done; only
   * then does a copy that type-checks become the definition's `dist/` file (so later commands skip the
   * check), and one that does not is removed with any older `dist/` file of it.
   */
  readonly typeErrors: Promise<string[]>;
}

/**
 * Makes `stacks/clusters/<name>.ts` loadable. Unchanged since it was last built (and its library and
 * tsconfig.json too): its `dist/` file, checked. Otherwise it is type-checked alone by tsgo and, meanwhile,
 * transpiled by esbuild to a copy beside its `dist/` file, so the command can go on with it; the caller awaits
 * `typeErrors` before it writes anything. Returns the problems at once when it does not even transpile (tsgo's
 * messages, which name more than esbuild's), in which case no output of it is left to load.
 */
export async function buildDefinition(name: string): Promise<LoadableDefinition | { readonly problems: string[] }> {
  const source = `${DEFINITIONS_DIR}/${name}.ts`;
  const sourcePath = join(PROJECT_DIR, source);
  const output = outputOf(source);
  const built = mtime(output);
  if (built >= mtime(sourcePath) && built >= newestLibraryTime()) return { file: output, typeErrors: Promise.resolve([]) };
  const checking = typeCheck(source);
  const text = readFileSync(sourcePath, 'utf8');
  const js = await transpileText(source, text);
  if ('problems' in js) {
    const typeErrors = await checking;
    for (const stale of [output, `${output}.map`]) rmSync(stale, { force: true });
    return { problems: typeErrors.length > 0 ? typeErrors : js.problems };
  }
  removeUncheckedCopies(name);
  const copy = join(dirname(output), `.${name}.${process.pid}.unchecked.js`);
  writeAtomically(copy, js.code);
  const typeErrors = checking
    .then((problems) => {
      if (problems.length > 0) {
        for (const stale of [output, `${output}.map`]) rmSync(stale, { force: true });
      } else if (readIfPresent(sourcePath) === text) {
        // The text checked and the text transpiled are one (an edit during the check leaves it to the next run).
        writeAtomically(`${output}.map`, js.map);
        renameSync(copy, output);
      }
      return problems;
    })
    .finally(() => rmSync(copy, { force: true }));
  return { file: copy, typeErrors };
}

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * Removes the unchecked copies of a definition that commands stopped by a signal left, those older than a
 * minute: a command imports its copy moments after writing it, and never reads the file again.
 */
function removeUncheckedCopies(name: string): void {
  const dir = dirname(outputOf(`${DEFINITIONS_DIR}/${name}.ts`));
  let files: string[];
  try {
    files = readdirSync(dir);
  } catch {
    return;
  }
  for (const f of files) {
    if (/^\.(.+)\.\d+\.unchecked\.js$/.exec(f)?.[1] === name && mtime(join(dir, f)) < Date.now() - 60_000) rmSync(join(dir, f), { force: true });
  }
}

/** The tsgo binary of `@typescript/native-preview` for this platform (what its `tsgo` script starts). */
function tsgoBinary(): string {
  const platformPackage = `@typescript/native-preview-${process.platform}-${process.arch}`;
  const dir = dirname(createRequire(import.meta.url).resolve(`${platformPackage}/package.json`));
  return join(dir, 'lib', process.platform === 'win32' ? 'tsgo.exe' : 'tsgo');
}

/**
 * Type-checks one source and what it imports, with the project's compiler options (no ambient Node or mocha
 * types: a definition is pure data), writing nothing. Returns `file:line:column message` per error.
 */
export async function typeCheck(source: string): Promise<string[]> {
  let binary: string;
  try {
    binary = tsgoBinary();
  } catch {
    return [`${source}: cannot type-check it, tsgo (@typescript/native-preview) is not installed. Run 'npm install'.`];
  }
  const dir = mkdtempSync(join(tmpdir(), 'dcos-cfn-check-'));
  try {
    const config = join(dir, 'tsconfig.json');
    writeFileSync(
      config,
      JSON.stringify({
        extends: join(PROJECT_DIR, 'tsconfig.json'),
        compilerOptions: { types: [], rootDir: PROJECT_DIR, noEmit: true },
        include: [],
        files: [join(PROJECT_DIR, source)],
      }),
    );
    const { code, output } = await run(binary, ['-p', config, '--pretty', 'false'], PROJECT_DIR);
    if (code === 0) return [];
    // `stacks/clusters/x.ts(12,5): error TS2322: Type ...` and indented continuation lines.
    const problems: string[] = [];
    for (const line of output.split('\n')) {
      const m = /^(.+?)\((\d+),(\d+)\): error (TS\d+): (.*)$/.exec(line);
      if (m) problems.push(`${relative(PROJECT_DIR, join(PROJECT_DIR, m[1]!))}:${m[2]}:${m[3]} ${m[5]} (${m[4]})`);
      else if (line.trim() && problems.length > 0) problems[problems.length - 1] += `\n      ${line.trim()}`;
    }
    return problems.length > 0 ? problems : [`${source}: tsgo failed (exit ${code}): ${output.trim().slice(0, 2000)}`];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs a program; resolves with its exit code and its stdout and stderr together. */
async function run(binary: string, args: readonly string[], cwd: string): Promise<{ code: number | null; output: string }> {
  // Loaded here: child_process costs ~10 ms to load, and a command with nothing to check never needs it.
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => chunks.push(b));
    child.stderr.on('data', (b: Buffer) => chunks.push(b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output: Buffer.concat(chunks).toString('utf8') }));
  });
}
