import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseCommandArgs } from '../args.js';
import { UserError } from '../errors.js';
import { formatFinding, lintTemplates } from '../lint.js';

const HELP = `Usage: npm run lint -- [--out DIR]

Runs cfn-lint over every template (*.yaml, *.yml, *.json except manifest.json) in the output folder,
in one process, and prints findings as 'file:line rule message'.
Exits 1 on any error or warning; informational findings are printed but do not fail.

Options:
  --out DIR   folder of synthesized templates (default: out)
  -h, --help  this text`;

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs('lint', argv, {
    out: { type: 'string', default: 'out' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const dir = values.out!;
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => /\.(ya?ml|json)$/.test(f) && f !== 'manifest.json')
      .sort()
      .map((f) => join(dir, f));
  } catch {
    throw new UserError(`${dir}/ not found. Run 'npm run synth' first.`);
  }
  if (files.length === 0) throw new UserError(`No templates in ${dir}/. Run 'npm run synth' first.`);
  const findings = await lintTemplates(files);
  for (const f of findings) console.log(formatFinding(f));
  const failing = findings.filter((f) => f.level !== 'Informational').length;
  console.log(
    failing === 0
      ? `cfn-lint: ${files.length} templates clean (0 errors, 0 warnings).`
      : `cfn-lint: ${failing} error(s)/warning(s) in ${files.length} templates.`,
  );
  return failing === 0 ? 0 : 1;
}
