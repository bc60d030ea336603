import { parseCommandArgs } from '../args.js';
import { confirm } from '../deploy/confirm.js';
import { deploy, type DeployResult } from '../deploy/deploy.js';
import { AWS_HELP, AWS_OPTIONS, planPropsFrom, TEMPLATE_HELP, TEMPLATE_OPTIONS } from '../deploy/options.js';
import { formatOutputs } from '../deploy/outputs.js';
import { formatRootCause } from '../deploy/progress.js';

const HELP = `Usage: npm run deploy -- --stack-name NAME [--parameters-file FILE] [--parameter K=V ...] [options]

Ships out/ to CloudFormation through a change set: uploads the nested templates to S3 under
content-hash keys, creates the change set (nested stacks included), shows a preview with
security-relevant changes called out, refuses to remove or replace stateful resources (masters and
their volumes, buckets, log groups, keys, the VPC, subnets) unless allowed, asks, executes, follows
the events of every stack and prints the cluster's outputs. Nothing changed: says "no changes" and
writes nothing. Does not synthesize: run 'npm run synth' first.

Deploy:
  --stack-name NAME             root stack (required)
  --allow-replacement ID ...    stateful logical IDs (or Nested/ID) that may be removed or replaced
  --no-execute                  create the change set and leave it for review; prints its name
  --replace-failed              a stack whose first create failed (ROLLBACK_COMPLETE): delete it and
                                create it again
  --no-termination-protection   for throwaway clusters (default: protection on the root stack)

${TEMPLATE_HELP}

${AWS_HELP}

Exit codes: 0 deployed or no changes, 1 failed or refused, 2 bad usage.`;

export function report(result: DeployResult, print: (line: string) => void): number {
  switch (result.kind) {
    case 'no-op':
      print(`No changes: ${result.why}. Nothing was written.`);
      if (result.outputs.length) print(formatOutputs(result.stackName, result.outputs));
      return 0;
    case 'deployed':
      print(`\n${result.stackName}: ${result.status} in ${result.seconds} s.\n`);
      print(formatOutputs(result.stackName, result.outputs));
      return 0;
    case 'not-executed':
      print(result.why === 'declined' ? `Not executed: change set ${result.changeSet} deleted.` : '');
      return result.why === 'declined' ? 1 : 0;
    case 'failed':
      print(`\nDeploy of ${result.stackName} failed: ${result.status}. Root cause${result.rootCauses.length === 1 ? '' : 's'}:`);
      for (const cause of result.rootCauses) print(formatRootCause(cause));
      if (result.rootCauses.length === 0) print('  (no failure reason in the events; see the CloudFormation console)');
      print(result.hint);
      return 1;
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'deploy',
    argv,
    {
      ...AWS_OPTIONS,
      ...TEMPLATE_OPTIONS,
      'allow-replacement': { type: 'string', multiple: true },
      'no-execute': { type: 'boolean' },
      'replace-failed': { type: 'boolean' },
      'no-termination-protection': { type: 'boolean' },
    },
    true,
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  // `--allow-replacement A B` reads the IDs after the flag as positionals.
  const allowReplacement = [...(values['allow-replacement'] ?? []), ...positionals].flatMap((v) => v.split(',')).filter(Boolean);
  const props = await planPropsFrom('deploy', values);
  const result = await deploy({
    ...props,
    replaceFailed: values['replace-failed'] ?? false,
    allowReplacement,
    execute: !values['no-execute'],
    terminationProtection: !values['no-termination-protection'],
    confirm: (question) => confirm(question, values.yes ?? false, ', or --no-execute to leave the change set for review'),
  });
  return report(result, props.print);
}
