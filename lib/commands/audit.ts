import { AWS_OPTIONS, HELP_OPTION, parseCommandArgs } from '../args.js';
import { auditTemplateSet } from '../audit/audit.js';
import { formatCompare, formatReport } from '../audit/report.js';
import { UserError } from '../errors.js';

const HELP = `Usage: npm run audit -- [PATH...] [--json] [--compare PATH]

Audits a CloudFormation template set (default: out/, as 'npm run synth' writes it) and prints:
  - exposure: every instance and auto scaling group with the ports on which the internet reaches it,
    directly or through an internet-facing load balancer;
  - findings: the AWS Control Tower proactive controls (cfn-guard) and our own rules, after waivers;
  - waivers: every rule waived in resource Metadata ("dcos:waivers": { RULE: reason }), with its reason.
A PATH is a folder (nested stacks found through manifest.json, or by the TemplateURL file name) or a
template file (JSON or YAML). Exits 1 on any finding, including exposure beyond what each role expects.

Options:
  --json          print the result as JSON (for CI)
  --compare PATH  put another template set beside this one: exposure per role, findings per rule
  -h, --help      this text`;

/** Options of the live audit (lib/commands/audit-live.ts, loaded only when given: it needs the AWS SDK). */
const LIVE_OPTIONS = { ...AWS_OPTIONS, timeout: { type: 'string' } } as const;

export async function main(argv: readonly string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    'audit',
    argv,
    {
      json: { type: 'boolean' },
      compare: { type: 'string' },
      ...HELP_OPTION,
      ...LIVE_OPTIONS,
    },
    true,
  );
  if (values.help) {
    console.log(`${HELP}\n\n${(await import('./audit-live.js')).LIVE_HELP}`);
    return 0;
  }
  const live = (Object.keys(LIVE_OPTIONS) as (keyof typeof LIVE_OPTIONS)[]).filter((o) => values[o] !== undefined);
  const help = "Run 'npm run audit -- --help' for the options.";
  if (live.length && values['stack-name'] === undefined) {
    throw new UserError(`--${live.join(', --')} ${live.length === 1 ? 'belongs' : 'belong'} to a live audit, which needs --stack-name NAME. ${help}`, 2);
  }
  const templateArgs = [...positionals.map((p) => `template path ${p}`), ...(values.compare !== undefined ? ['--compare'] : [])];
  if (live.length && templateArgs.length) {
    throw new UserError(`${templateArgs.join(', ')}: a live audit (--stack-name) reads the deployed stack, not templates; give either --stack-name NAME or template paths and --compare. ${help}`, 2);
  }
  if (live.length) return (await import('./audit-live.js')).runLiveAudit(values);
  const result = await auditTemplateSet(positionals.length ? positionals : ['out']);
  if (values.compare !== undefined) {
    const other = await auditTemplateSet([values.compare]);
    console.log(values.json ? JSON.stringify({ left: result, right: other }, null, 2) : formatCompare(result, other));
  } else {
    console.log(values.json ? JSON.stringify(result, null, 2) : formatReport(result));
  }
  return result.findings.length === 0 ? 0 : 1;
}
