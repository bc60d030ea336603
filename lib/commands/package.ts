import { AWS_HELP, AWS_OPTIONS, HELP_HELP, HELP_OPTION, parseCommandArgs } from '../args.js';
import { clientsFrom, SYNTH_CHECK_HELP, templatesFrom } from '../deploy/options.js';
import { PACKAGED_DIR } from '../manifest.js';
import { packageTemplates } from '../package.js';

const HELP = `Usage: npm run package -- [--bucket NAME] [--prefix P] [options]

Makes the synthesized templates (out/) ready for the AWS CloudFormation console:
  1. uploads the nested templates to s3://NAME/P/ under content-hash keys (network-<sha256>.yaml),
     skipping any already there;
  2. writes out/${PACKAGED_DIR}/root.yaml: the root template with TemplateBaseUrl defaulting to that S3
     folder, so "Create stack > Upload a template file" needs nothing typed for it; beside it, each
     template exactly as uploaded;
  3. uploads that root too, and prints its S3 URL and a console quick-create link for the region.
Whoever creates the stack needs s3:GetObject on the bucket (it stays private).

Options:
  --bucket NAME           S3 bucket in the stack's region (default: dcos-cfn-templates-ACCOUNT-REGION, the
                          deploy bucket, created on first use: encrypted, public access blocked, TLS only)
  --prefix P              folder inside the bucket (default: none)
  --stack-name NAME       stack name the console link proposes (default: the cluster's name)
${SYNTH_CHECK_HELP}

${AWS_HELP}
${HELP_HELP}`;

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs('package', argv, {
    bucket: { type: 'string' },
    prefix: { type: 'string' },
    out: { type: 'string', default: 'out' },
    'skip-synth-check': { type: 'boolean' },
    ...AWS_OPTIONS,
    ...HELP_OPTION,
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const templates = templatesFrom(values);
  const clients = await clientsFrom(values, templates);
  const result = await packageTemplates({
    clients,
    templates,
    ...(values.bucket !== undefined ? { bucket: values.bucket } : {}),
    ...(values.prefix !== undefined ? { prefix: values.prefix } : {}),
    ...(values['endpoint-url'] ? { endpointUrl: values['endpoint-url'] } : {}),
    ...(values['stack-name'] ? { stackName: values['stack-name'] } : {}),
    print: (line) => console.log(line),
  });
  console.log(`Wrote ${result.rootFile} (TemplateBaseUrl defaults to ${result.templateBaseUrl}).`);
  console.log(`\nRoot template:  ${result.rootUrl}`);
  console.log(`Console:        ${result.consoleUrl}`);
  console.log(`\nOr in the console: Create stack > With new resources > Upload a template file > ${result.rootFile}`);
  return 0;
}
