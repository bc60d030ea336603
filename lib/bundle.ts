/**
 * `npm run bundle`: puts the DC/OS install bundle where the cluster's nodes read it. The bundle is the `genconf/serve`
 * folder DC/OS's `dcos_generate_config.sh` makes from the `genconf/` synth wrote; it goes under the definition's
 * bucket and folder (`manifest.json`'s `bundle`), which is `bootstrap_url`. The bucket is made on first use, private:
 * public access blocked, encrypted with S3-managed keys (the nodes' unsigned reads through the VPC's S3 endpoint
 * cannot decrypt KMS objects), TLS only (a stack's bucket policy, set at deploy, lets the endpoint read it).
 *
 * Before anything is uploaded the folder is checked: it has `dcos_install.sh`, and that installer was generated for
 * this `bootstrap_url` (a bundle made from another config would install from elsewhere), and its static master_list
 * is the masters' addresses of this synth (`out/genconf/config.yaml`), read the way the nodes read it
 * (stacks/userdata/dcos-node.sh). Files whose name is a content hash are uploaded once; the rest when their SHA-256
 * differs. `dcos_install.sh` and the other files at the top go last, so a node booting meanwhile never finds an
 * installer whose packages are not there yet. Last of all, `dcos-cfn-genconf.json` records which genconf the bundle
 * was made from (`BundleRecord`), which deploy and diff compare with the out/ they ship.
 */
import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parse } from 'yaml';
import { AwsCallError, awsErrorName } from './deploy/aws.js';
import { ensureBucket } from './deploy/upload.js';
import { UserError } from './errors.js';
import { throwIfInterrupted } from './interrupt.js';
import { readGenconf, type BundleLocation, type Manifest } from './manifest.js';

/** The installer at the top of a bundle; DC/OS writes `bootstrap_url` into it as the `repository-url` setup flag. */
export const INSTALLER = 'dcos_install.sh';

/** The object next to the bundle that records which genconf it was made from (`BundleRecord`, JSON). */
export const BUNDLE_RECORD = 'dcos-cfn-genconf.json';

/** `<prefix>/dcos-cfn-genconf.json`: the genconf a bundle was made from, written by `npm run bundle`. */
export interface BundleRecord {
  /** The manifest's `genconf` of the out/ the bundle was checked against: file name → hex SHA-256. */
  readonly genconf: Readonly<Record<string, string>>;
  /** The bundle's static master_list (IPv4 addresses), equal to that config.yaml's. */
  readonly masterList: readonly string[];
}

/** The value of one `setup-flags/<flag>` heredoc in a `dcos_install.sh`, if any. */
function setupFlag(installer: string, flag: string): string | undefined {
  const lines = installer.split('\n');
  const at = lines.findIndex((l) => new RegExp(`setup-flags/${flag}"\\s*$`).test(l));
  return at >= 0 ? lines[at + 1]?.trim() : undefined;
}

/** The `bootstrap_url` a `dcos_install.sh` was generated with (its `setup-flags/repository-url` heredoc), if any. */
export function installerBootstrapUrl(installer: string): string | undefined {
  return setupFlag(installer, 'repository-url');
}

/** config.yaml's `master_list` in the genconf/ synth wrote to `dir`, read checked against the manifest's hash. */
export function genconfMasterList(dir: string, manifest: Manifest): string[] {
  const config = parse(readGenconf(dir, manifest, 'config.yaml').toString('utf8')) as { master_list?: unknown };
  return Array.isArray(config?.master_list) ? config.master_list.map(String) : [];
}

/** What `npm run bundle` records for the out/ in `dir`: its manifest's genconf hashes and config.yaml's master_list. */
export function bundleRecordOf(dir: string, manifest: Manifest): BundleRecord {
  return { genconf: manifest.genconf ?? {}, masterList: genconfMasterList(dir, manifest) };
}

/**
 * The static master_list of the bundle in a genconf/serve folder, read as the nodes read it (dcos-node.sh):
 * `dcos_install.sh` names the cluster package list (`setup-flags/cluster-package-list`),
 * `package_lists/<id>.package_list.json` names the `dcos-config--setup_<id>` package, whose
 * `packages/dcos-config/<id>.tar.xz` holds `etc/master_list` (JSON). Extracted with tar, as the nodes do.
 * Throws a UserError naming the missing piece.
 */
export async function bundleMasterList(serve: string, installer: string): Promise<string[]> {
  const remake = `Make the bundle with dcos_generate_config.sh from this synth's out/genconf, then run npm run bundle; nothing was uploaded.`;
  const listId = setupFlag(installer, 'cluster-package-list');
  if (!listId) throw new UserError(`${join(serve, INSTALLER)} names no cluster package list (setup-flags/cluster-package-list). ${remake}`);
  const listPath = join(serve, 'package_lists', `${listId}.package_list.json`);
  let list: string;
  try {
    list = readFileSync(listPath, 'utf8');
  } catch {
    throw new UserError(`${listPath} not found: ${INSTALLER} names package list ${listId}. ${remake}`);
  }
  const configPackage = /dcos-config--setup_[0-9a-f]+/.exec(list)?.[0];
  if (!configPackage) throw new UserError(`${listPath} names no dcos-config package. ${remake}`);
  const tarball = join(serve, 'packages', 'dcos-config', `${configPackage}.tar.xz`);
  const read = await execa('tar', ['-xJOf', tarball, 'etc/master_list'], { reject: false });
  if (read.exitCode !== 0) throw new UserError(`${tarball} holds no etc/master_list (tar: ${read.stderr.split('\n')[0]}): the bundle has no static master_list. ${remake}`);
  try {
    const masters = JSON.parse(read.stdout) as unknown;
    if (Array.isArray(masters)) return masters.map(String);
  } catch {
    // refused below
  }
  throw new UserError(`${tarball}'s etc/master_list is not a JSON list of addresses: ${read.stdout.slice(0, 200)}. ${remake}`);
}

/** Refuses a bundle whose static master_list is not `expected` (this synth's), naming both lists and the fix. */
export async function checkBundleMasters(serve: string, expected: readonly string[]): Promise<void> {
  const masters = await bundleMasterList(serve, readFileSync(join(serve, INSTALLER), 'utf8'));
  if (!isDeepStrictEqual(masters, [...expected])) {
    throw new UserError(
      `The bundle in ${serve} has master_list ${masters.join(', ') || '(empty)'}, but this synth places the masters at ${expected.join(', ')} (out/genconf/config.yaml): ` +
        `its nodes would refuse it at boot. Run dcos_generate_config.sh on this synth's out/genconf, then npm run bundle; nothing was uploaded.`,
    );
  }
}

/** Every file below `dir`, as paths relative to it with `/` separators, sorted. */
function filesBelow(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => statSync(join(dir, f)).isFile())
    .map((f) => f.split(sep).join('/'))
    .sort();
}

/**
 * Checks a `genconf/serve` folder against the cluster's bundle location; returns its files, the top-level ones last.
 * Throws a UserError naming the folder and what to do.
 */
export function checkServeFolder(serve: string, location: BundleLocation): string[] {
  let installer: string;
  try {
    installer = readFileSync(join(serve, INSTALLER), 'utf8');
  } catch {
    throw new UserError(
      `${join(serve, INSTALLER)} not found: --serve must be the genconf/serve folder dcos_generate_config.sh makes. ` +
        `Run dcos_generate_config.sh in the folder that holds the genconf/ synth wrote (out/genconf), then pass its genconf/serve.`,
    );
  }
  const url = installerBootstrapUrl(installer);
  if (url !== location.url) {
    throw new UserError(
      `${join(serve, INSTALLER)} was generated for bootstrap_url ${url ?? '(none)'}, but this cluster's nodes fetch the bundle from ${location.url}. ` +
        `Generate it again from the config.yaml synth wrote (out/genconf), which names that bootstrap_url; nothing was uploaded.`,
    );
  }
  const files = filesBelow(serve);
  return [...files.filter((f) => f.includes('/')), ...files.filter((f) => !f.includes('/'))];
}

/** A name that carries its content's hash (bootstrap/<id>.bootstrap.tar.xz, packages/<name>/<name>--<id>.tar.xz, package_lists/<id>...). */
const CONTENT_ADDRESSED = /^(bootstrap|packages|package_lists)\//;

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface UploadBundleProps {
  readonly s3: S3Client;
  readonly location: BundleLocation;
  /** Which genconf the bundle must be made from (this synth's); recorded next to it as `dcos-cfn-genconf.json`. */
  readonly record: BundleRecord;
  /** The genconf/serve folder. */
  readonly serve: string;
  /** False only for an emulator reached over plain http (see `ensureBucket`). @default true */
  readonly tlsOnly?: boolean;
  readonly print: (line: string) => void;
  /** Uploads at once. @default 4 */
  readonly concurrency?: number;
}

export interface UploadBundleResult {
  readonly uploaded: readonly string[];
  readonly skipped: readonly string[];
  /** True when the bucket was made by this run. */
  readonly createdBucket: boolean;
}

export async function uploadBundle(props: UploadBundleProps): Promise<UploadBundleResult> {
  const { s3, location, serve, print } = props;
  const files = checkServeFolder(serve, location);
  await checkBundleMasters(serve, props.record.masterList);
  let createdBucket: boolean;
  try {
    createdBucket = await ensureBucket({ s3, bucket: location.bucket, region: location.region, create: true, tlsOnly: props.tlsOnly ?? true, purpose: 'the DC/OS bundle', log: print });
  } catch (err) {
    // Bucket names are global: a 403 on a bucket this account cannot see, or BucketAlreadyExists, is someone else's.
    if ((err instanceof AwsCallError && err.problem === 'access') || awsErrorName(err) === 'BucketAlreadyExists') {
      throw new UserError(
        `S3 bucket ${location.bucket} belongs to another account (or this identity may not use it): bucket names are global. ` +
          `Set bundle.bucket in the cluster definition to a name of your own, synth, and make the bundle again (its bootstrap_url names the bucket).`,
      );
    }
    throw err;
  }
  const uploaded: string[] = [];
  const skipped: string[] = [];
  const upload = async (file: string) => {
    throwIfInterrupted();
    const path = join(serve, file);
    const Key = `${location.prefix}/${file}`;
    const hash = await sha256Of(path);
    try {
      const head = await s3.send(new HeadObjectCommand({ Bucket: location.bucket, Key }));
      if (CONTENT_ADDRESSED.test(file) || head.Metadata?.['sha256'] === hash) return void skipped.push(Key);
    } catch (err) {
      if (awsErrorName(err) !== 'NotFound' && (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404) throw err;
    }
    await s3.send(new PutObjectCommand({ Bucket: location.bucket, Key, Body: createReadStream(path), ContentLength: statSync(path).size, Metadata: { sha256: hash } }));
    uploaded.push(Key);
  };
  // Folders first, a few at a time; the files at the top (dcos_install.sh among them) after every folder is there.
  const inFolders = files.filter((f) => f.includes('/'));
  const concurrency = props.concurrency ?? 4;
  for (let i = 0; i < inFolders.length; i += concurrency) await Promise.all(inFolders.slice(i, i + concurrency).map(upload));
  for (const file of files.filter((f) => !f.includes('/'))) await upload(file);
  throwIfInterrupted();
  const record = `${JSON.stringify(props.record, null, 2)}\n`;
  await s3.send(new PutObjectCommand({ Bucket: location.bucket, Key: `${location.prefix}/${BUNDLE_RECORD}`, Body: record, ContentType: 'application/json' }));
  print(`Bundle in s3://${location.bucket}/${location.prefix}/: ${uploaded.length} uploaded, ${skipped.length} already there (${relative(process.cwd(), serve) || serve}).`);
  return { uploaded, skipped, createdBucket };
}
