import { AWS_HELP, AWS_OPTIONS, HELP_HELP, HELP_OPTION, parseCommandArgs, YES_HELP, YES_OPTION } from '../args.js';
import { confirm, requireConfirmation } from '../deploy/confirm.js';
import { destroy } from '../deploy/destroy.js';
import { clientsFrom, requireStackName } from '../deploy/options.js';
import { formatRootCause } from '../deploy/progress.js';

const HELP = `Usage: npm run destroy -- --stack-name NAME [--force] [--yes] [options]

Deletes the root stack and its nested stacks, following the events, then lists what was retained
(resources with DeletionPolicy Retain or RetainExceptOnCreate: data that survives and still costs money).
Instances the templates protect from termination (masters, the VPN gateway, the dcos-cli instance) get
that protection turned off first, exactly those, each named. Ctrl-C once the delete has started leaves
CloudFormation deleting; run destroy again to follow it.

A stack that does not exist is not an error: destroy says so and exits 0, as 'aws cloudformation
delete-stack' and 'cdk destroy' do, so a teardown can be run again safely.

Destroy:
  --stack-name NAME       root stack (required)
  --force                 turn termination protection off first (refused without it)

${AWS_HELP}
${YES_HELP}
${HELP_HELP}

Exit codes: 0 deleted, or no such stack; 1 failed, refused or declined; 2 bad usage; 130 interrupted; 141 output closed (| head).`;

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs('destroy', argv, { ...AWS_OPTIONS, ...YES_OPTION, ...HELP_OPTION, force: { type: 'boolean' } });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const stackName = requireStackName('destroy', values);
  const clients = await clientsFrom(values);
  const untouched = 'Nothing was deleted.';
  requireConfirmation(values.yes ?? false, '', untouched);
  const print = (line: string) => console.log(line);
  const result = await destroy({
    clients,
    stackName,
    force: values.force ?? false,
    confirm: (question) => confirm(question, values.yes ?? false, '', untouched),
    print,
  });
  switch (result.kind) {
    case 'absent':
      print(`Stack ${stackName} does not exist in ${clients.region}; nothing to destroy.`);
      return 0;
    case 'declined':
      print('Not deleted.');
      return 1;
    case 'failed':
      print(`\nDelete of ${stackName} failed: ${result.status}. Root causes:`);
      for (const cause of result.rootCauses) print(formatRootCause(cause));
      if (result.restored) {
        print('What is left keeps its protections:');
        for (const line of result.restored) print(`  ${line}`);
      }
      print(`Fix the cause (often a resource changed outside CloudFormation), then run destroy again${result.restored ? ' (with --force if the stack has termination protection)' : ''}.`);
      return 1;
    case 'destroyed':
      print(`\nStack ${stackName} deleted.`);
      if (result.retained.length === 0) {
        print('Nothing was retained.');
      } else {
        print(`Retained (still exist and cost money; delete them by hand when their data is no longer needed):`);
        for (const r of result.retained) print(`  - ${r.stack}/${r.logicalId}  ${r.resourceType}  ${r.physicalId}`);
      }
      return 0;
  }
}
