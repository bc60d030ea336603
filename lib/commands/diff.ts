import { AWS_HELP, AWS_OPTIONS, HELP_HELP, HELP_OPTION, parseCommandArgs } from '../args.js';
import { diff } from '../deploy/diff.js';
import { DRIFT_HELP, DRIFT_OPTIONS, planPropsFrom, TEMPLATE_HELP, TEMPLATE_OPTIONS } from '../deploy/options.js';

const HELP = `Usage: npm run diff -- --stack-name NAME [--parameters-file FILE] [--parameter K=V ...] [options]

Shows what 'npm run deploy' would change, from a change set that is deleted afterwards (for a new
stack, the empty stack the change set needed is deleted too), and, for an existing stack, which
drifted properties that deploy would overwrite and which it would keep. Uploads the nested templates
(content-hash keys, so a later deploy reuses them); changes nothing else.

Diff:
  --stack-name NAME       root stack (required)

${DRIFT_HELP}

${TEMPLATE_HELP}

${AWS_HELP}
${HELP_HELP}`;

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs('diff', argv, { ...AWS_OPTIONS, ...HELP_OPTION, ...TEMPLATE_OPTIONS, ...DRIFT_OPTIONS });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const props = await planPropsFrom('diff', values);
  const { stackName, print } = props;
  const result = await diff(props);
  if (result.kind === 'no-changes') {
    if (result.drift?.text) print(`${result.drift.text}\n`);
    print(`No changes: ${result.why}.`);
    return 0;
  }
  print(`\n${result.newStack ? `Stack ${stackName} does not exist yet; deploy would create:` : `Changes deploy would make to ${stackName}:`}\n`);
  print(result.preview.text);
  if (result.drift.text) print(`\n${result.drift.text}`);
  return 0;
}
