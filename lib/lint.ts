/**
 * cfn-lint over a set of templates in one process (its cold start is ~1.5 s, so never once per file).
 * cfn-lint's exit code is a bit mask (2 error, 4 warning, 8 informational); we read its JSON instead.
 */
import { execa } from 'execa';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from './errors.js';

export type LintLevel = 'Error' | 'Warning' | 'Informational';

export interface LintFinding {
  readonly file: string;
  readonly line: number;
  readonly rule: string;
  readonly level: LintLevel;
  readonly message: string;
}

interface CfnLintMatch {
  readonly Filename: string;
  readonly Level: LintLevel;
  readonly Message: string;
  readonly Rule: { readonly Id: string };
  readonly Location: { readonly Start: { readonly LineNumber: number } };
}

export const CFN_LINT_MISSING =
  "cfn-lint is not installed (or not on PATH). Install it with 'pipx install cfn-lint' or 'pip install cfn-lint', then run 'npm run lint' again.";

/**
 * Registry schemas of resource types CloudFormation has and cfn-lint 1.51 does not know yet (its E3006 would call
 * them nonexistent): AWS::EC2::SubnetCidrReservation, written from the CloudFormation Template Reference. cfn-lint
 * takes the type from there but validates its properties only from its own schemas, so ours are typed in
 * lib/template.ts instead.
 */
export const EXTRA_SCHEMAS = fileURLToPath(new URL('../../lib/cfn-lint-schemas/', import.meta.url));

/** Runs cfn-lint once over all `files`; returns every finding, errors first. */
export async function lintTemplates(files: readonly string[], cwd = process.cwd()): Promise<LintFinding[]> {
  if (files.length === 0) return [];
  const result = await execa('cfn-lint', ['--format', 'json', '--registry-schemas', EXTRA_SCHEMAS, '--', ...files], { reject: false, cwd });
  if ((result as { code?: string }).code === 'ENOENT' || result.failed && result.exitCode === undefined) {
    throw new UserError(CFN_LINT_MISSING);
  }
  // Bit 1 (exit code 1) is a cfn-lint crash or usage error; 2/4/8 mean findings, reported as JSON.
  if ((result.exitCode ?? 0) & 1) {
    throw new UserError(`cfn-lint failed (exit ${result.exitCode}): ${String(result.stderr || result.stdout).trim().slice(0, 2000)}`);
  }
  const matches = JSON.parse(String(result.stdout) || '[]') as CfnLintMatch[];
  const rank: Record<LintLevel, number> = { Error: 0, Warning: 1, Informational: 2 };
  return matches
    .map((m) => ({
      file: relative(cwd, m.Filename) || m.Filename,
      line: m.Location.Start.LineNumber,
      rule: m.Rule.Id,
      level: m.Level,
      message: m.Message,
    }))
    .sort((a, b) => rank[a.level] - rank[b.level] || a.file.localeCompare(b.file) || a.line - b.line);
}

/** `file:line rule message`, the format editors and CI annotate from. */
export function formatFinding(f: LintFinding): string {
  return `${f.file}:${f.line} ${f.rule} ${f.message}`;
}
