import { AWS_HELP, AWS_OPTIONS, HELP_HELP, HELP_OPTION, parseCommandArgs, parseTimeout } from '../args.js';
import { clientsFrom, requireStackName } from '../deploy/options.js';
import { detectDrift } from '../drift/detect.js';
import { DRIFT_EXIT_CODES, formatDriftReport, summarizeDrift } from '../drift/report.js';

const HELP = `Usage: npm run drift -- --stack-name NAME [--json] [--timeout SECONDS] [options]

Runs CloudFormation drift detection on the root stack and on every nested stack (CloudFormation does not
look into nested stacks by itself), waits for all of them, and lists each drifted resource with its
property differences (expected, actual), security-relevant drift first: security groups and their
rules, IAM, load balancers and listeners, public addresses, the masters. Changes nothing in the stacks.
CloudFormation reads each resource with your credentials: a missing read permission shows as a
resource it could not check, with AWS's reason. (moto_server does not implement drift detection.)

Exit codes:
  ${DRIFT_EXIT_CODES['in-sync']}  in sync: every stack checked, nothing drifted
  ${DRIFT_EXIT_CODES.drifted}  drift found
  ${DRIFT_EXIT_CODES.incomplete}  nothing drifted among what was checked, but a detection failed, was refused or timed
     out, or a resource could not be checked (the report says which and why)
  1  an error (no credentials, access denied to a call, no such stack); 2  a wrong option

Drift:
  --stack-name NAME       root stack (required)
  --json                  print the report as JSON on stdout (progress goes to stderr either way)
  --timeout SECONDS       how long to wait for all detections together (default: 600)

${AWS_HELP}
${HELP_HELP}`;

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs('drift', argv, { ...AWS_OPTIONS, ...HELP_OPTION, json: { type: 'boolean' }, timeout: { type: 'string' } });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const stackName = requireStackName('drift', values);
  const timeoutMs = parseTimeout('timeout', values.timeout, 600);
  const clients = await clientsFrom(values);
  const stacks = await detectDrift({
    clients,
    stackName,
    ...(values['endpoint-url'] ? { endpointUrl: values['endpoint-url'] } : {}),
    progress: (line) => console.error(line),
    timeoutMs,
  });
  const report = summarizeDrift(stackName, clients.region, stacks);
  console.log(values.json ? JSON.stringify(report, null, 2) : formatDriftReport(report));
  return report.exitCode;
}
