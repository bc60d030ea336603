import { parseCommandArgs } from '../args.js';
import { AWS_OPTIONS, clientsFrom, requireStackName } from '../deploy/options.js';
import { detectDrift } from '../drift/detect.js';
import { DRIFT_EXIT_CODES, formatDriftReport, summarizeDrift } from '../drift/report.js';
import { UserError } from '../errors.js';

const HELP = `Usage: npm run drift -- --stack-name NAME [--json] [--timeout SECONDS] [options]

Runs CloudFormation drift detection on the root stack and on every nested stack (CloudFormation does not
look into nested stacks by itself), waits for all of them, and lists each drifted resource with its
property differences (expected, actual), security-relevant drift first: security groups and their
rules, IAM, load balancers and listeners, public addresses, the masters. Changes nothing in the stacks.
CloudFormation reads each resource with your credentials: a missing read permission shows as a
resource it could not check, with AWS's reason.

Exit codes:
  ${DRIFT_EXIT_CODES['in-sync']}  in sync: every stack checked, nothing drifted
  ${DRIFT_EXIT_CODES.drifted}  drift found
  ${DRIFT_EXIT_CODES.incomplete}  nothing drifted among what was checked, but a detection failed, was refused or timed
     out, or a resource could not be checked (the report says which and why)
  1  an error (no credentials, access denied to a call, no such stack); 2  a wrong option

Drift:
  --stack-name NAME   root stack (required)
  --json              print the report as JSON on stdout (progress goes to stderr either way)
  --timeout SECONDS   how long to wait for all detections together (default: 600)

AWS:
  --profile NAME      named profile (shared config/credentials, SSO) (default: the SDK's chain:
                      environment, default profile, SSO, instance role)
  --region REGION     (default: AWS_REGION, then the profile's region)
  --endpoint-url URL  a local emulator (moto does not implement drift detection)
  -h, --help          this text`;

export async function main(argv: readonly string[]): Promise<number> {
  const { yes: _yes, ...options } = AWS_OPTIONS;
  const { values } = parseCommandArgs('drift', argv, { ...options, json: { type: 'boolean' }, timeout: { type: 'string' } });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const stackName = requireStackName('drift', values);
  const timeout = values.timeout === undefined ? 600 : Number(values.timeout);
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 86_400) {
    throw new UserError(`--timeout ${values.timeout}: expected whole seconds from 1 to 86400.`, 2);
  }
  const clients = await clientsFrom(values);
  const stacks = await detectDrift({
    clients,
    stackName,
    ...(values['endpoint-url'] ? { endpointUrl: values['endpoint-url'] } : {}),
    progress: (line) => console.error(line),
    timeoutMs: timeout * 1000,
  });
  const report = summarizeDrift(stackName, clients.region, stacks);
  console.log(values.json ? JSON.stringify(report, null, 2) : formatDriftReport(report));
  return report.exitCode;
}
