/**
 * `npm run package`: the synthesized templates made ready for the AWS console. The nested templates
 * go to S3 under their content-hash keys (deploy's upload, skipping what is there), and
 * `<out>/packaged/` receives a root template whose `TemplateBaseUrl` parameter defaults to that S3
 * folder, beside a copy of every object as uploaded.
 *
 * Why a Default and not literal URLs: the packaged root is then synth's root with one line added, so
 * the console shows the same parameters (nothing to type for TemplateBaseUrl), and a stack created in
 * the console can later be updated with `npm run deploy` (which passes TemplateBaseUrl itself) without
 * a parameter appearing or disappearing. The nested URLs keep their content hashes either way.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from './errors.js';
import { onInterrupt } from './interrupt.js';
import { foreignPackaged, PACKAGED_DIR, sha256, TEMPLATE_BASE_URL_PARAMETER, templateKey } from './manifest.js';
import { accountId, type AwsClients } from './deploy/aws.js';
import type { TemplateSet } from './deploy/templates.js';
import { bucketUrl, defaultBucketName, ensureBucket, uploadTemplates, type TemplateObject } from './deploy/upload.js';
import { parseTemplate, toYaml } from './yaml.js';

export interface PackageProps {
  readonly clients: AwsClients;
  /** The synthesized templates (`loadTemplates(out)`). */
  readonly templates: TemplateSet;
  /** Bucket for the templates. @default the deploy bucket, dcos-cfn-templates-ACCOUNT-REGION, created on first use */
  readonly bucket?: string;
  /** Folder inside the bucket, without slashes at the ends. @default none */
  readonly prefix?: string;
  /** Endpoint of a local emulator; its URLs replace the S3 ones. */
  readonly endpointUrl?: string;
  /** Stack name the console link proposes. @default the manifest's cluster name */
  readonly stackName?: string;
  readonly print: (line: string) => void;
}

export interface Packaged {
  readonly bucket: string;
  readonly prefix?: string;
  /** The S3 folder the nested templates are in: the packaged root's TemplateBaseUrl default. */
  readonly templateBaseUrl: string;
  /** The packaged root template in the bucket. */
  readonly rootUrl: string;
  /** Console quick-create link for the root template in the stack's region. */
  readonly consoleUrl: string;
  /** `<out>/packaged/root.yaml`. */
  readonly rootFile: string;
  readonly uploaded: readonly string[];
  readonly skipped: readonly string[];
}

/** A bucket name S3 accepts (general purpose buckets). */
export function checkBucketName(bucket: string): void {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) || bucket.includes('..') || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
    throw new UserError(`--bucket ${bucket}: an S3 bucket name has 3-63 lower-case letters, digits, dots and hyphens, and starts and ends with a letter or digit.`, 2);
  }
}

/** `a/b/` → `a/b`; refuses characters S3 keys should not carry. */
export function normalizePrefix(prefix: string | undefined): string | undefined {
  const trimmed = prefix?.replace(/^\/+|\/+$/g, '');
  if (!trimmed) return undefined;
  if (!/^[A-Za-z0-9!_.*'()/-]+$/.test(trimmed) || trimmed.split('/').some((p) => p === '' || p === '.' || p === '..')) {
    throw new UserError(`--prefix ${prefix}: use letters, digits and ! _ . * ' ( ) - separated by single slashes.`, 2);
  }
  return trimmed;
}

/** The console's quick-create page for a template URL (commercial partition). */
export function quickCreateUrl(region: string, templateUrl: string, stackName: string): string {
  const query = `templateURL=${encodeURIComponent(templateUrl)}&stackName=${encodeURIComponent(stackName)}`;
  return `https://${region}.console.aws.amazon.com/cloudformation/home?region=${region}#/stacks/quickcreate?${query}`;
}

/** Synth's root template with `TemplateBaseUrl` defaulting to `url`; everything else unchanged. */
export function packagedRoot(body: string, url: string): string {
  const template = parseTemplate(body) as { Parameters?: Record<string, Record<string, unknown>> };
  const parameter = template.Parameters?.[TEMPLATE_BASE_URL_PARAMETER];
  if (!parameter) throw new UserError(`The root template has no ${TEMPLATE_BASE_URL_PARAMETER} parameter. Run 'npm run synth' to write it again.`);
  parameter['Default'] = url;
  return toYaml(template);
}

/** Uploads the nested templates and the packaged root, writes `<out>/packaged/`, returns the URLs. */
export async function packageTemplates(props: PackageProps): Promise<Packaged> {
  const { clients, templates, print } = props;
  const { s3, region } = clients;
  const prefix = normalizePrefix(props.prefix);
  if (props.bucket !== undefined) checkBucketName(props.bucket);
  const foreign = foreignPackaged(templates.dir);
  if (foreign.length) {
    throw new UserError(`${templates.dir}/ holds ${foreign.join(', ')}, which package did not write: it replaces ${templates.dir}/${PACKAGED_DIR}/ whole, so move ${foreign.length === 1 ? 'it' : 'them'} out first. Nothing was uploaded.`);
  }

  // 1. The bucket: the one given (it must exist), or deploy's default one (created hardened).
  const bucket = props.bucket ?? defaultBucketName(await accountId(clients), region);
  await ensureBucket({ s3, bucket, region, create: props.bucket === undefined, tlsOnly: !props.endpointUrl?.startsWith('http:'), log: print });

  // 2. The packaged root: TemplateBaseUrl defaults to the folder the nested templates go to.
  const templateBaseUrl = [bucketUrl(bucket, region, props.endpointUrl), ...(prefix ? [prefix] : [])].join('/');
  const root = packagedRoot(templates.root.body, templateBaseUrl);
  const rootKey = templateKey(templates.root.file, sha256(root));

  // 3. Upload: the nested templates, then the root (content-hash keys, skipping what is there).
  const objects: TemplateObject[] = [...Object.values(templates.nested).map(({ key, body }) => ({ key, body })), { key: rootKey, body: root }];
  const { uploaded, skipped } = await uploadTemplates({ s3, bucket, ...(prefix ? { prefix } : {}), objects });
  print(`Templates in s3://${bucket}${prefix ? `/${prefix}` : ''}: ${uploaded.length} uploaded, ${skipped.length} already there.`);

  // 4. <out>/packaged/: the root for "Upload a template file", and each object as uploaded, written beside it and
  //    swapped in, so the folder is the old one or the new one, never half of each.
  const dir = join(templates.dir, PACKAGED_DIR);
  writePackaged(dir, [{ key: templates.root.file, body: root }, ...objects.slice(0, -1)]);
  const rootFile = join(dir, templates.root.file);

  const rootUrl = `${templateBaseUrl}/${rootKey}`;
  const stackName = props.stackName ?? templates.manifest.cluster ?? 'dcos';
  return {
    bucket,
    ...(prefix ? { prefix } : {}),
    templateBaseUrl,
    rootUrl,
    consoleUrl: quickCreateUrl(region, rootUrl, stackName),
    rootFile,
    uploaded,
    skipped,
  };
}

/** Writes `files` into a fresh folder beside `dir`, then swaps it in; an interrupt or a failure before the swap leaves `dir` as it was. */
function writePackaged(dir: string, files: readonly TemplateObject[]): void {
  const staging = `${dir}.staging-${process.pid}`;
  const old = `${dir}.old-${process.pid}`;
  const removeStaging = () => rmSync(staging, { recursive: true, force: true });
  const release = onInterrupt(removeStaging);
  try {
    removeStaging();
    mkdirSync(staging);
    for (const { key, body } of files) writeFileSync(join(staging, key), body);
    // The swap is synchronous: no interrupt handler runs in its middle.
    const hadOld = existsSync(dir);
    if (hadOld) renameSync(dir, old);
    renameSync(staging, dir);
    if (hadOld) rmSync(old, { recursive: true, force: true });
  } catch (err) {
    removeStaging();
    throw err;
  } finally {
    release();
  }
}
