/** `npm run audit -- --stack-name NAME`: the live audit of a deployed cluster (lib/audit/live/). */
import { auditLive, LIVE_EXIT_CODES } from '../audit/live/audit.js';
import { formatLiveReport } from '../audit/live/report.js';
import { AWS_HELP, parseTimeout } from '../args.js';
import { requireStackName, type CommonValues } from '../deploy/options.js';

export const LIVE_HELP = `Live audit (a deployed cluster instead of templates):
  --stack-name NAME       root stack: reads its nested stacks, their resources and deployed templates, and
                          the live configuration behind them (security groups and their current rules,
                          instances and every interface and public or Elastic IP on them, subnets, route
                          tables, network ACLs, load balancers in the cluster's VPCs with their listeners
                          and targets, the groups' launch templates and instances), then runs the same
                          exposure analysis and network rules, and compares with the deployed templates
  --timeout SECONDS       bound for the whole run, 1 to 86400 (default: 300; each call at most 60)

${AWS_HELP}

Exit codes of a live audit: ${LIVE_EXIT_CODES.clean} clean; ${LIVE_EXIT_CODES.findings} a finding (or an error); ${LIVE_EXIT_CODES.drift} no finding, but the live exposure differs from
the deployed templates' (or a stack's instance or group is gone); 2 a wrong option.`;

export interface LiveValues extends CommonValues {
  readonly json?: boolean | string;
  readonly timeout?: string;
}

export async function runLiveAudit(values: LiveValues): Promise<number> {
  const stackName = requireStackName('audit', values);
  const timeoutMs = parseTimeout('timeout', values.timeout, 300);
  const result = await auditLive({
    stackName,
    aws: {
      ...(values.profile ? { profile: values.profile } : {}),
      ...(values.region ? { region: values.region } : {}),
      ...(values['endpoint-url'] ? { endpointUrl: values['endpoint-url'] } : {}),
    },
    timeoutMs,
  });
  console.log(values.json ? JSON.stringify(result, null, 2) : formatLiveReport(result));
  return result.exitCode;
}
