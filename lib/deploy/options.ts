/** The flags of the commands that read out/ and call CloudFormation (deploy, diff, destroy), and turning them into clients, templates and drift options; the AWS, --yes and --help options they share with the others are in lib/args.ts. */
import { parseTimeout } from '../args.js';
import { UserError } from '../errors.js';
import { connect, type AwsClients } from './aws.js';
import type { PlanProps } from './plan.js';
import { parseKeyValues, readParametersFile } from './parameters.js';
import { checkSynthSources, loadTemplates, type TemplateSet } from './templates.js';

export const TEMPLATE_OPTIONS = {
  out: { type: 'string', default: 'out' },
  'skip-synth-check': { type: 'boolean' },
  'skip-bundle-check': { type: 'boolean' },
  'parameters-file': { type: 'string' },
  parameter: { type: 'string', multiple: true },
  tag: { type: 'string', multiple: true },
  bucket: { type: 'string' },
} as const;

export const DRIFT_OPTIONS = {
  'revert-drift': { type: 'boolean' },
  'no-drift-check': { type: 'boolean' },
  'drift-timeout': { type: 'string' },
} as const;

export const DRIFT_HELP = `Drift:
  --revert-drift          a drift-aware change set (CloudFormation's DeploymentMode REVERT_DRIFT, as
                          'cdk deploy --revert-drift'): drifted properties are set back to the template's
                          values, also where the templates did not change. Refused, with nothing changed,
                          where CloudFormation (or an emulator) does not make every change set drift-aware
  --no-drift-check        skip drift detection before the preview (default: detect drift on the root and
                          every nested stack, and say which drifted properties this run would overwrite
                          and which it keeps; the check never stops a deploy)
  --drift-timeout SECONDS how long drift detection may take (default: 300); past it, the preview says
                          what was not checked`;

/** The --out and --skip-synth-check lines of deploy, diff and package. */
export const SYNTH_CHECK_HELP = `  --out DIR               synthesized templates and manifest.json (default: out): read only from this
                          folder, never from stacks/. Refused when the sources that made it changed
                          since (the definition named in its manifest, or the compiler)
  --skip-synth-check      use DIR as it is, even when its sources changed since synth`;

export const TEMPLATE_HELP = `Templates and parameters:
${SYNTH_CHECK_HELP}
  --skip-bundle-check     go on even when the DC/OS bundle in S3 was made from another genconf than
                          DIR/genconf (default: refused before any change set, naming the differing
                          master lists, as recorded by 'npm run bundle' in dcos-cfn-genconf.json)
  --parameters-file FILE  JSON as aws-cli takes it: [{"ParameterKey": "K", "ParameterValue": "V"}]
  --parameter KEY=VALUE   repeatable; wins over the file. On an update, parameters not given keep
                          their deployed values. Every value is checked against the root template's
                          AllowedPattern, AllowedValues, MinLength/MaxLength and MinValue/MaxValue
                          before anything is uploaded or created
  --tag KEY=VALUE         stack tag, repeatable (default on an update: keep the stack's tags)
  --bucket NAME           S3 bucket for the nested templates (default: dcos-cfn-templates-ACCOUNT-REGION,
                          created on first use: encrypted, public access blocked, TLS only)`;

export interface CommonValues {
  readonly 'stack-name'?: string;
  readonly profile?: string;
  readonly region?: string;
  readonly 'endpoint-url'?: string;
}

export function requireStackName(command: string, values: CommonValues): string {
  const name = values['stack-name'];
  if (!name) throw new UserError(`--stack-name NAME is required. Run 'npm run ${command} -- --help' for the options.`, 2);
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(name)) {
    throw new UserError(`--stack-name ${name}: a stack name starts with a letter and has only letters, digits and hyphens (at most 128).`, 2);
  }
  return name;
}

/**
 * The AWS clients from --profile, --region and --endpoint-url. With `templates` (a command that reads out/), a
 * run with no region configured uses the one the synthesized cluster is defined for, and says so.
 */
export async function clientsFrom(values: CommonValues, templates?: TemplateSet): Promise<AwsClients> {
  const defined = templates?.manifest.bundle?.region;
  const clients = await connect({
    ...(values.profile ? { profile: values.profile } : {}),
    ...(values.region ? { region: values.region } : {}),
    ...(defined ? { fallbackRegion: defined } : {}),
    ...(values['endpoint-url'] ? { endpointUrl: values['endpoint-url'] } : {}),
  });
  if (clients.regionIsFallback) {
    console.error(`Region: ${clients.region}, the one cluster '${templates?.manifest.cluster}' is defined for (no --region, AWS_REGION, AWS_DEFAULT_REGION or profile region is configured).`);
  }
  return clients;
}

export interface DriftValues {
  readonly 'revert-drift'?: boolean;
  readonly 'no-drift-check'?: boolean;
  readonly 'drift-timeout'?: string;
}

/** The drift options of deploy and diff, checked (a wrong --drift-timeout exits 2). */
export function driftPropsFrom(values: DriftValues): Pick<PlanProps, 'revertDrift' | 'driftCheck' | 'driftTimeoutMs'> {
  const raw = values['drift-timeout'];
  return {
    ...(values['revert-drift'] ? { revertDrift: true } : {}),
    ...(values['no-drift-check'] ? { driftCheck: false } : {}),
    ...(raw !== undefined ? { driftTimeoutMs: parseTimeout('drift-timeout', raw, 300) } : {}),
  };
}

export interface TemplateValues {
  readonly out?: string;
  readonly 'skip-synth-check'?: boolean;
  readonly 'skip-bundle-check'?: boolean;
  readonly 'parameters-file'?: string;
  readonly parameter?: string[];
  readonly tag?: string[];
}

/** Everything deploy and diff share, from the parsed flags: templates, clients, parameters, tags, bucket, drift. */
export async function planPropsFrom(command: string, values: CommonValues & TemplateValues & DriftValues & { readonly bucket?: string }): Promise<PlanProps> {
  const stackName = requireStackName(command, values);
  const drift = driftPropsFrom(values);
  const templates = templatesFrom(values);
  const parameters = parametersFrom(values);
  const tags = tagsFrom(values);
  const clients = await clientsFrom(values, templates);
  return {
    clients,
    templates,
    stackName,
    parameters,
    ...(tags ? { tags } : {}),
    ...(values.bucket ? { bucket: values.bucket } : {}),
    ...(values['endpoint-url'] ? { endpointUrl: values['endpoint-url'] } : {}),
    ...(values['skip-bundle-check'] ? { bundleCheck: false } : {}),
    ...drift,
    print: (line: string) => console.log(line),
  };
}

export function templatesFrom(values: TemplateValues): TemplateSet {
  const dir = (values.out ?? 'out').replace(/(.)\/+$/, '$1');
  const templates = loadTemplates(dir);
  if (!values['skip-synth-check']) checkSynthSources(dir, templates.manifest);
  return templates;
}

export function parametersFrom(values: TemplateValues): Record<string, string> {
  return {
    ...(values['parameters-file'] ? readParametersFile(values['parameters-file']) : {}),
    ...parseKeyValues('parameter', values.parameter ?? []),
  };
}

export function tagsFrom(values: TemplateValues): Record<string, string> | undefined {
  return values.tag?.length ? parseKeyValues('tag', values.tag) : undefined;
}
