/**
 * The README stays true: every `npm run` command it shows names a real script and only options that command
 * accepts, and its example cluster definition synthesizes and passes the audit.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { withDefinition } from './helpers/definition.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const README = readFileSync('README.md', 'utf8');
const SCRIPTS = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
const CLI = join(process.cwd(), 'dist/lib/cli.js');

/** Shell lines of the README's ```sh blocks, comments stripped. */
function shellCommands(): string[] {
  return [...README.matchAll(/```sh\n([\s\S]*?)```/g)]
    .flatMap((m) => m[1]!.split('\n'))
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l.startsWith('npm '));
}

describe('README', () => {
  const commands = shellCommands();

  it('shows the install-and-synth and test commands', () => {
    assert.ok(commands.includes('npm install && npm run synth'));
    assert.ok(commands.includes('npm test'));
  });

  it('names only real npm scripts, with options their commands accept', () => {
    assert.ok(commands.length >= 10, `found ${commands.length} commands`);
    for (const line of commands) {
      for (const part of line.split('&&').map((p) => p.trim())) {
        const run = /^npm run (?:-s )?(\S+)(?: -- (.*))?$/.exec(part);
        if (!run) continue;
        const [, script, args = ''] = run;
        assert.ok(SCRIPTS[script!], `npm run ${script} is no script`);
        const command = /^node bin\/dcos-cfn\.mjs (\w+)/.exec(SCRIPTS[script!]!)?.[1];
        if (!command) continue;
        // Options are parsed before --help is honoured, so an unknown option fails here.
        const result = spawnSync(process.execPath, [CLI, command, ...args.split(/\s+/).filter(Boolean), '--help'], { encoding: 'utf8' });
        assert.equal(result.status, 0, `${part}: ${result.stderr}`);
      }
    }
  });

  it('shows exactly what npm run synth prints for the default cluster', () => {
    const out = mkdtempSync(join(tmpdir(), 'dcos-readme-synth-'));
    try {
      const result = spawnSync(process.execPath, [CLI, 'synth', '--out', out], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      const printed = result.stdout.replaceAll(`${out}/`, "out/");
      assert.ok(README.includes(printed.trimEnd()), `README lacks:\n${printed}`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('has an example definition that synthesizes and passes the audit', async () => {
    const example = /```ts\n(\/\/ stacks\/clusters\/(\w+)\.ts[^\n]*\n[\s\S]*?)```/.exec(README);
    assert.ok(example, 'no example definition');
    const [, source, name] = example;
    const out = join(mkdtempSync(join(tmpdir(), 'dcos-readme-')), 'out');
    try {
      await withDefinition(name!, source!, () => {
        const result = spawnSync(process.execPath, [CLI, 'synth', '--cluster', name!, '--out', out], { encoding: 'utf8' });
        assert.equal(result.status, 0, result.stderr);
        assert.match(result.stdout, /0 findings/);
      });
    } finally {
      rmSync(join(out, '..'), { recursive: true, force: true });
    }
  });
});
