import { AWS_HELP, AWS_OPTIONS, HELP_HELP, HELP_OPTION, parseCommandArgs, YES_HELP, YES_OPTION } from '../args.js';
import { confirm, requireConfirmation } from '../deploy/confirm.js';
import { deploy, followDeploy, type DeployResult } from '../deploy/deploy.js';
import { clientsFrom, DRIFT_HELP, DRIFT_OPTIONS, planPropsFrom, requireStackName, TEMPLATE_HELP, TEMPLATE_OPTIONS } from '../deploy/options.js';
import { formatOutputs } from '../deploy/outputs.js';
import { formatRootCause } from '../deploy/progress.js';
import { UserError } from '../errors.js';

const HELP = `Usage: npm run deploy -- --stack-name NAME [--parameters-file FILE] [--parameter K=V ...] [options]

Ships out/ to CloudFormation through a change set: detects drift on the deployed stacks, uploads the
nested templates to S3 under content-hash keys, creates the change set (nested stacks included),
shows a preview with security-relevant changes called out and which drifted properties it would
overwrite or keep, refuses to remove or replace stateful resources (masters and their volumes,
buckets, log groups, keys, the VPC, subnets) or to stop and start a master unless allowed, asks,
executes, follows the events of every stack and prints the cluster's outputs. Nothing changed: says
"no changes" and writes nothing. Does not synthesize: run 'npm run synth' first.

Deploy:
  --stack-name NAME             root stack (required)
  --allow-replacement ID ...    stateful logical IDs (or Nested/ID) that may be removed or replaced,
                                or one master that may be stopped and started (never two at once),
                                or a nested stack updated or deleted without a change set to read
  --no-execute                  create the change set and leave it for review; prints its name
                                (executed from the console, it gets none of deploy's stack policies
                                or termination protection)
  --replace-failed              a stack whose first create failed (ROLLBACK_COMPLETE): delete it and
                                create it again
  --no-termination-protection   for throwaway clusters (default: protection on the root stack)
  --follow                      create nothing, read no out/: follow the operation in progress on the
                                stack (one an interrupted or cut-off deploy left to CloudFormation) to its
                                end, then set the stack policies from the deployed templates, apply
                                termination protection and print the outputs. With no operation in
                                progress it says so and only does the protections (exit 1 when the last
                                operation failed or rolled back)

${DRIFT_HELP}

${TEMPLATE_HELP}

${AWS_HELP}
${YES_HELP}
${HELP_HELP}

Ctrl-C (or SIGTERM) before the execution deletes what this run created (the change set; for a new
stack, the empty stack) and restores a loosened stack policy; during the execution CloudFormation keeps
going, and deploy prints the --follow command that finishes the job.

Exit codes: 0 deployed or no changes, 1 failed or refused, 2 bad usage, 130 interrupted, 141 output closed (| head).`;

export function report(result: DeployResult, print: (line: string) => void): number {
  switch (result.kind) {
    case 'no-op':
      print(`No changes: ${result.why}. Nothing was written.`);
      if (result.outputs.length) print(formatOutputs(result.stackName, result.outputs));
      return 0;
    case 'deployed':
      print(`\n${result.stackName}: ${result.status}${result.seconds !== undefined ? ` in ${result.seconds} s` : ''}.\n`);
      print(formatOutputs(result.stackName, result.outputs));
      return 0;
    case 'settled':
      if (result.hint) {
        print(`Its last operation did not succeed (${result.status}). ${result.hint}`);
        return 1;
      }
      if (result.outputs.length) print(formatOutputs(result.stackName, result.outputs));
      return 0;
    case 'not-executed':
      print(result.why === 'declined' ? `Not executed. ${result.did ?? ''}` : '');
      return result.why === 'declined' ? 1 : 0;
    case 'failed':
      print(`\nDeploy of ${result.stackName} failed: ${result.status}. Root cause${result.rootCauses.length === 1 ? '' : 's'}:`);
      for (const cause of result.rootCauses) print(formatRootCause(cause));
      if (result.rootCauses.length === 0) print('  (no failure reason in the events; see the CloudFormation console)');
      print(result.hint);
      return 1;
  }
}

/**
 * `--allow-replacement A B` names several IDs: each word after the flag, up to the next option, becomes its own
 * `--allow-replacement`. A stray word anywhere else is refused by the parser, never taken as an allowance.
 */
function expandAllowReplacement(argv: readonly string[]): string[] {
  const out: string[] = [];
  let collecting = false;
  let collected = 0;
  for (const arg of argv) {
    if (arg === '--allow-replacement') {
      if (collecting && collected === 0) out.push(arg); // a bare flag: let the parser say it needs a value
      collecting = true;
      collected = 0;
      continue;
    }
    if (collecting && !arg.startsWith('-')) {
      out.push('--allow-replacement', arg);
      collected++;
      continue;
    }
    if (collecting && collected === 0) out.push('--allow-replacement');
    collecting = false;
    out.push(arg);
  }
  if (collecting && collected === 0) out.push('--allow-replacement');
  return out;
}

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs(
    'deploy',
    expandAllowReplacement(argv),
    {
      ...AWS_OPTIONS,
      ...YES_OPTION,
      ...HELP_OPTION,
      ...TEMPLATE_OPTIONS,
      ...DRIFT_OPTIONS,
      'allow-replacement': { type: 'string', multiple: true },
      'no-execute': { type: 'boolean' },
      'replace-failed': { type: 'boolean' },
      'no-termination-protection': { type: 'boolean' },
      follow: { type: 'boolean' },
    },
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (values.follow && values['revert-drift']) throw new UserError('--revert-drift creates a drift-aware change set, and --follow creates none: use one or the other.', 2);
  const allowReplacement = (values['allow-replacement'] ?? []).flatMap((v) => v.split(',')).filter(Boolean);
  const alternative = ', or --no-execute to leave the change set for review';
  const execute = !values['no-execute'];
  const stackName = requireStackName('deploy', values);
  const following = {
    stackName,
    print: (line: string) => console.log(line),
    terminationProtection: !values['no-termination-protection'],
    resumeCommand: resumeCommand(stackName, values),
  };
  if (values.follow) return report(await followDeploy({ ...following, clients: await clientsFrom(values) }), following.print);
  const props = await planPropsFrom('deploy', values);
  if (execute) requireConfirmation(values.yes ?? false, alternative);
  const result = await deploy({
    ...props,
    ...following,
    replaceFailed: values['replace-failed'] ?? false,
    allowReplacement,
    execute,
    confirm: (question: string) => confirm(question, values.yes ?? false, alternative),
  });
  return report(result, following.print);
}

/** The deploy command that follows this stack to its end: the same stack and AWS options, with --follow (no out/). */
export function resumeCommand(stackName: string, values: Readonly<Record<string, unknown>>): string {
  const quote = (v: string) => (/^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`);
  const args = ['--stack-name', stackName];
  for (const flag of ['profile', 'region', 'endpoint-url'] as const) {
    const value = values[flag];
    if (typeof value === 'string') args.push(`--${flag}`, quote(value));
  }
  if (values['no-termination-protection']) args.push('--no-termination-protection');
  return `npm run deploy -- ${args.join(' ')} --follow`;
}
