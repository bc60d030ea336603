import { parseCommandArgs } from '../args.js';
import { bundleRecordOf, uploadBundle } from '../bundle.js';
import { checkEndpointUrl } from '../deploy/aws.js';
import { clientsFrom, templatesFrom } from '../deploy/options.js';
import { UserError } from '../errors.js';

const HELP = `Usage: npm run bundle -- [--serve DIR] [options]

Puts the DC/OS install bundle where the cluster's nodes fetch it: the genconf/serve folder that DC/OS's
dcos_generate_config.sh makes from the genconf/ synth wrote (out/genconf), uploaded under the definition's
bundle bucket and folder, which is the bootstrap_url of that config.yaml. Run it before the first deploy and
after every new bundle (a DC/OS upgrade); deploy lets only the cluster's VPC read the bucket.

  1. checks the folder: it has dcos_install.sh, generated for this bootstrap_url, and its static
     master_list (etc/master_list of the dcos-config package) is this synth's (out/genconf/config.yaml);
     a bundle made from another genconf is refused, naming both lists: run dcos_generate_config.sh on
     this synth's out/genconf, then npm run bundle again;
  2. makes the bucket in the definition's region when it does not exist (public access blocked, S3-managed
     encryption, TLS only);
  3. uploads what is new or changed (content-hashed files once), dcos_install.sh last, then records
     which genconf it was made from in dcos-cfn-genconf.json next to it (deploy and diff refuse an
     out/ whose genconf differs).

Options:
  --serve DIR         the genconf/serve folder (default: genconf/serve)
  --out DIR           synth's output, for the bundle location in manifest.json (default: out); refused
                      when older than stacks/, like deploy (run 'npm run synth', or pass --skip-synth-check)
  --skip-synth-check  use DIR as it is
  --profile NAME      named profile (shared config/credentials, SSO)
  --region REGION     must be the definition's region when given (default: the definition's region)
  --endpoint-url URL  a local emulator such as moto_server
  -h, --help          this text

Exit codes: 0 uploaded (or nothing new), 1 refused or failed, 2 bad usage, 130 interrupted, 141 output closed (| head).`;

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs('bundle', argv, {
    serve: { type: 'string', default: 'genconf/serve' },
    out: { type: 'string', default: 'out' },
    'skip-synth-check': { type: 'boolean' },
    profile: { type: 'string' },
    region: { type: 'string' },
    'endpoint-url': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  // The manifest as deploy reads it (every file checked, out/ not older than the definitions): the same location.
  const templates = templatesFrom(values);
  const location = templates.manifest.bundle;
  if (!location) throw new UserError(`${values.out}/manifest.json has no bundle location: it was written by an older synth. Run 'npm run synth'.`);
  if (values.region && values.region !== location.region) {
    throw new UserError(`--region ${values.region}: the cluster is defined for ${location.region}, where its bundle bucket ${location.bucket} must be (the nodes read it through their Region's S3 endpoint). Omit --region, or change region in the definition and synth again.`, 2);
  }
  if (values['endpoint-url']) checkEndpointUrl(values['endpoint-url']);
  const { s3 } = await clientsFrom({ ...values, region: location.region });
  await uploadBundle({ s3, location, record: bundleRecordOf(templates.dir, templates.manifest), serve: values.serve, tlsOnly: !values['endpoint-url']?.startsWith('http:'), print: (line) => console.log(line) });
  console.log(`The nodes fetch it from ${location.url} (bootstrap_url), through the VPC's S3 endpoint.`);
  return 0;
}
