import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatFinding, lintTemplates } from '../lib/lint.js';
import { compile, writeOutput } from '../lib/synth.js';
import { DEFINITIONS } from './helpers/template.js';

const CLI = join(process.cwd(), 'dist/lib/cli.js');

/** True when a `cfn-lint` executable answers `--version`. */
const cfnLintAvailable = () => spawnSync('cfn-lint', ['--version'], { stdio: 'ignore' }).status === 0;

describe('cfn-lint (real)', function () {
  const dirs: Record<string, string> = {};

  before(async function () {
    if (!cfnLintAvailable()) {
      console.log('    NOTICE: cfn-lint is not installed; skipping the cfn-lint tests (pipx install cfn-lint)');
      this.skip();
    }
    for (const [name, config] of Object.entries(DEFINITIONS)) {
      dirs[name] = mkdtempSync(join(tmpdir(), `dcos-cfn-lint-${name}-`));
      await writeOutput(compile(config), dirs[name]!);
    }
  });
  after(() => Object.values(dirs).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('finds zero errors and zero warnings in both definitions, in one process', async () => {
    const files = Object.values(dirs).flatMap((d) => ['root', 'network', 'master-zone', 'agents', 'vpn'].map((f) => join(d, `${f}.yaml`)));
    const findings = await lintTemplates(files);
    const failing = findings.filter((f) => f.level !== 'Informational');
    assert.deepEqual(failing.map(formatFinding), []);
  });

  it('reports a broken template as file:line rule message and exits 1 (npm run lint)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dcos-cfn-lint-bad-'));
    writeFileSync(join(dir, 'bad.yaml'), "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  Bucket:\n    Type: AWS::S3::Bucket\n    Properties:\n      Versioning: true\n");
    const run = spawnSync(process.execPath, [CLI, 'lint', '--out', dir], { encoding: 'utf8' });
    assert.equal(run.status, 1);
    assert.match(run.stdout, /bad\.yaml:6 E3002 Additional properties are not allowed \('Versioning' was unexpected\)/);
    rmSync(dir, { recursive: true });
  });

  it('says how to install cfn-lint when it is missing', () => {
    const run = spawnSync(process.execPath, [CLI, 'lint', '--out', dirs.default!], { encoding: 'utf8', env: { ...process.env, PATH: '/nonexistent' } });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^error: cfn-lint is not installed \(or not on PATH\)\. Install it with 'pipx install cfn-lint'/);
  });
});
