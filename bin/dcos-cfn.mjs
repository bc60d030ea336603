#!/usr/bin/env node
/**
 * The command line, as `npm run <command>` starts it: `node bin/dcos-cfn.mjs <command> [options]`.
 * It runs the TypeScript sources as they are, with no build step: sources changed since the last run are
 * transpiled first (lib/build.ts), which takes no time when nothing changed; a cluster definition is
 * type-checked when a command loads it. `npm run check` and `npm test` type-check the whole project.
 */
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import module from 'node:module';
import { fileURLToPath } from 'node:url';

// Ctrl-C or SIGTERM before the command's own handling is in place (lib/interrupt.ts) is kept, not fatal: the build
// below finishes its writes, then the launcher stops, or hands the signal over to the command's handling.
const EARLY_SIGNAL = Symbol.for('dcos-cfn.early-signal');
// A second signal exits at once, as it does once the command runs (the build may be left to the next run).
const keepSignal = (signal) => {
  if (globalThis[EARLY_SIGNAL] !== undefined) {
    console.error(`\n${signal} again: exiting now.`);
    process.exit(130);
  }
  globalThis[EARLY_SIGNAL] = signal;
};
process.on('SIGINT', keepSignal);
process.on('SIGTERM', keepSignal);
const stopIfInterrupted = () => {
  if (globalThis[EARLY_SIGNAL] === undefined) return;
  console.error(`\nInterrupted (${globalThis[EARLY_SIGNAL]}). Nothing was left to undo.`);
  process.exit(130);
};

// Node 22.1+ keeps the compiled code of every module between runs (Node 20 has no such cache).
module.enableCompileCache?.(fileURLToPath(new URL('../node_modules/.cache/dcos-cfn/compile/', import.meta.url)));

const BUILD_SOURCE = new URL('../lib/build.ts', import.meta.url);
const BUILD_OUTPUT = new URL('../dist/lib/build.js', import.meta.url);
const mtime = (url) => statSync(url, { throwIfNoEntry: false })?.mtimeMs ?? -1;

if (mtime(BUILD_OUTPUT) < mtime(BUILD_SOURCE)) {
  // lib/build.ts transpiles everything else, so it is transpiled here first; it imports nothing of the project.
  const { transform } = await import('esbuild');
  const { code } = await transform(readFileSync(BUILD_SOURCE, 'utf8'), {
    loader: 'ts',
    format: 'esm',
    platform: 'node',
    target: 'es2022',
    tsconfigRaw: readFileSync(new URL('../tsconfig.json', import.meta.url), 'utf8'),
  });
  mkdirSync(new URL('.', BUILD_OUTPUT), { recursive: true });
  const temporary = new URL(`build.js.${process.pid}.tmp`, BUILD_OUTPUT);
  writeFileSync(temporary, code);
  renameSync(temporary, BUILD_OUTPUT);
}

const { ensureBuilt } = await import(BUILD_OUTPUT.href);
const problems = await ensureBuilt();
stopIfInterrupted();
if (problems.length > 0) {
  console.error(`error: the sources do not compile:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}
await import('../dist/lib/cli.js');
