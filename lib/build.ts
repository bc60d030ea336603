/**
 * Builds what a command needs, and nothing more, so that no command waits for a compiler.
 *
 * - `ensureBuilt` (run by `bin/dcos-cfn.mjs` before every command) transpiles, with esbuild, each source
 *   under `lib/` and `stacks/` whose `dist/` output is missing or older than it or than tsconfig.json; with
 *   nothing changed it only compares modification times (~80 files, a few ms). Cluster definitions are left to
 * - `buildDefinition`, called when a command loads one: a definition that changed (or whose library
 *   changed) is type-checked alone and emitted by tsgo (the few library files it imports are emitted again
 *   beside it). A type error in it blocks only that definition, reported as `file:line:column message`;
 *   other clusters and commands that load no definition run.
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

/**
 * The project folder (package.json, lib/, stacks/, node_modules), for every module: this file runs as
 * `<project>/dist/lib/build.js`, and the launcher loads it before anything else.
 */
export const PROJECT_DIR = fileURLToPath(new URL('../../', import.meta.url));
const DIST_DIR = join(PROJECT_DIR, 'dist');
/** Where cluster definitions live, relative to the project: `stacks/clusters/NAME.ts`. */
export const DEFINITIONS_DIR = 'stacks/clusters';

/** The source of a definition, relative to the project, as messages name it: `stacks/clusters/NAME.ts`. */
export function definitionFile(name: string): string {
  return `${DEFINITIONS_DIR}/${name}.ts`;
}
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

/** Transpiles sources (relative to the project) to `dist/`, with source maps; returns the problems. */
export async function transpile(sources: readonly string[]): Promise<string[]> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    return ["esbuild is not installed. Run 'npm install'."];
  }
  const raw = tsconfigRaw();
  const problems: string[] = [];
  await Promise.all(
    sources.map(async (source) => {
      const output = outputOf(source);
      try {
        const result = await esbuild.transform(readFileSync(join(PROJECT_DIR, source), 'utf8'), {
          loader: 'ts',
          format: 'esm',
          platform: 'node',
          target: 'es2022',
          sourcemap: 'external',
          sourcefile: relative(dirname(output), join(PROJECT_DIR, source)),
          tsconfigRaw: raw,
        });
        writeAtomically(output, `${result.code}//# sourceMappingURL=${basename(output)}.map\n`);
        writeAtomically(`${output}.map`, result.map);
      } catch (err) {
        const errors = (err as { errors?: { text: string; location?: { line: number; column: number } | null }[] }).errors;
        if (!errors) throw err;
        for (const e of errors) problems.push(`${source}${e.location ? `:${e.location.line}:${e.location.column + 1}` : ''} ${e.text}`);
      }
    }),
  );
  await stopEsbuild(esbuild);
  return problems;
}

/**
 * Stops esbuild's service process (it would otherwise live until this process exits) and waits, at most a second,
 * until it has exited and been reaped, so it outlives no command, not even as a zombie where nothing reaps orphans
 * (a container without an init). The wait reads this process's children from /proc, where there is one.
 */
async function stopEsbuild(esbuild: typeof import('esbuild')): Promise<void> {
  const children = `/proc/${process.pid}/task/${process.pid}/children`;
  const read = (path: string) => {
    try {
      return readFileSync(path, 'utf8').trim();
    } catch {
      return '';
    }
  };
  const esbuildChildren = () => read(children).split(' ').filter((pid) => pid && read(`/proc/${pid}/comm`) === 'esbuild');
  await esbuild.stop();
  for (let waited = 0; waited < 1000 && esbuildChildren().length > 0; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
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

/**
 * What the caller lets a type check do if the user interrupts it (lib/interrupt.ts, passed in because this module
 * imports nothing of the project): remove its temporary folder, stop tsgo and wait for it.
 */
interface InterruptHooks {
  /** Runs `handler` on an interrupt; returns the release. */
  onInterrupt(handler: () => void | Promise<void>): () => void;
  /** Stops `child` on an interrupt and waits for its exit; returns the release. */
  stopOnInterrupt(child: import('node:child_process').ChildProcess): () => void;
}

/**
 * Makes `stacks/clusters/<name>.ts` loadable: when it (or the library, or tsconfig.json) changed since it was
 * last built, type-checks it alone and emits it with tsgo. Returns its `dist/` file, or the type errors
 * (`file:line:column message`), in which case no output of it is left to load.
 */
export async function buildDefinition(name: string, hooks?: InterruptHooks): Promise<{ readonly file: string } | { readonly problems: string[] }> {
  const source = definitionFile(name);
  const output = outputOf(source);
  const built = mtime(output);
  if (built >= mtime(join(PROJECT_DIR, source)) && built >= newestLibraryTime()) return { file: output };
  const removeOutput = () => [output, `${output}.map`].forEach((stale) => rmSync(stale, { force: true }));
  // Interrupted, tsgo may have written part of it: removed, it is checked again on its next load.
  const release = hooks?.onInterrupt(removeOutput);
  const problems = await typeCheck(source, true, hooks);
  release?.();
  if (problems.length > 0) {
    removeOutput();
    return { problems };
  }
  return { file: output };
}

/** The tsgo binary of `@typescript/native-preview` for this platform (what its `tsgo` script starts). */
function tsgoBinary(): string {
  const platformPackage = `@typescript/native-preview-${process.platform}-${process.arch}`;
  const dir = dirname(createRequire(import.meta.url).resolve(`${platformPackage}/package.json`));
  return join(dir, 'lib', process.platform === 'win32' ? 'tsgo.exe' : 'tsgo');
}

/**
 * Type-checks one source and what it imports, with the project's compiler options and the ECMAScript library
 * alone: a definition is pure data, so neither Node's or mocha's ambient types nor the browser's (`lib.dom`,
 * which `target` would add: 30,000 of the 56,000 declaration lines tsgo parsed, ~100 of its ~160 CPU-ms) are
 * in scope. With `emit`, writes their JavaScript to `dist/` when there is no error. Returns
 * `file:line:column message` per error.
 */
async function typeCheck(source: string, emit = false, hooks?: InterruptHooks): Promise<string[]> {
  let binary: string;
  try {
    binary = tsgoBinary();
  } catch {
    return [`${source}: cannot type-check it, tsgo (@typescript/native-preview) is not installed. Run 'npm install'.`];
  }
  const dir = mkdtempSync(join(tmpdir(), 'dcos-cfn-check-'));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  const release = hooks?.onInterrupt(removeDir); // runs after tsgo is stopped (handlers run newest first)
  try {
    const config = join(dir, 'tsconfig.json');
    writeFileSync(
      config,
      JSON.stringify({
        extends: join(PROJECT_DIR, 'tsconfig.json'),
        compilerOptions: { types: [], lib: ['es2022'], rootDir: PROJECT_DIR, outDir: DIST_DIR, ...(emit ? { noEmitOnError: true } : { noEmit: true }) },
        include: [],
        files: [join(PROJECT_DIR, source)],
      }),
    );
    const { code, output } = await run(binary, ['-p', config, '--pretty', 'false'], PROJECT_DIR, hooks);
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
    release?.();
    removeDir();
  }
}

/** Runs a program; resolves with its exit code and its stdout and stderr together. */
async function run(binary: string, args: readonly string[], cwd: string, hooks?: InterruptHooks): Promise<{ code: number | null; output: string }> {
  // Loaded here: child_process costs ~10 ms to load, and a command with nothing to check never needs it.
  const { spawn } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const release = hooks?.stopOnInterrupt(child);
    if (release) child.on('exit', release);
    const chunks: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => chunks.push(b));
    child.stderr.on('data', (b: Buffer) => chunks.push(b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output: Buffer.concat(chunks).toString('utf8') }));
  });
}
