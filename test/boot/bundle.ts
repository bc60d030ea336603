/**
 * A stand-in DC/OS install bundle (the `genconf/serve` folder `dcos_generate_config.sh` makes), made from the genconf/
 * synth writes, and laid out like the real one where the node bootstrap reads it: `dcos_install.sh` names the
 * bootstrap_url it was generated for and the cluster package list, `package_lists/<id>.package_list.json` names the
 * packages, `packages/dcos-config/<id>.tar.xz` holds `etc/master_list` (config.yaml's master_list) and `bin/detect_ip`
 * (genconf/ip-detect, which DC/OS installs as /opt/mesosphere/bin/detect_ip).
 *
 * Served over HTTPS with a test CA at the bucket's virtual-hosted name (`<bucket>.s3.<region>.amazonaws.com`), as S3
 * answers an unsigned reader without list permission: the object, or 403 for anything missing. Variants, each a
 * folder of the bucket with its own URL: `good` (at the definition's bootstrap_url), `other-masters` (another master
 * list), `mesos-never-up` (installs but never starts Mesos), `other-url` (generated for the good bootstrap_url, served
 * from another folder), `missing` (nothing there).
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join, normalize } from 'node:path';
import { parse } from 'yaml';
import { genconfFiles } from '../../stacks/genconf.js';
import type { ClusterConfig } from '../../stacks/config.js';

const STANDIN = new URL('../../../test/boot/standin/dcos_install.sh', import.meta.url);

export type BundleVariant = 'good' | 'other-masters' | 'mesos-never-up' | 'other-url' | 'missing';
export const BUNDLE_VARIANTS: readonly BundleVariant[] = ['good', 'other-masters', 'mesos-never-up', 'other-url', 'missing'];

/** What a serve folder is made from: genconf's config.yaml values and ip-detect. */
export interface ServeSpec {
  /** The bootstrap_url dcos_install.sh is generated with. */
  readonly bootstrapUrl: string;
  readonly masterList: readonly string[];
  readonly ipDetect: string;
  /** False: the stand-in installs but never starts Mesos. @default true */
  readonly startMesos?: boolean;
}

const sha1 = (text: string | Buffer) => createHash('sha1').update(text).digest('hex');

/** Writes a stand-in genconf/serve folder into `dir`. */
export function writeServeFolder(dir: string, spec: ServeSpec): void {
  const pkg = join(dir, '.pkg');
  mkdirSync(join(pkg, 'etc'), { recursive: true });
  mkdirSync(join(pkg, 'bin'), { recursive: true });
  writeFileSync(join(pkg, 'etc/master_list'), `${JSON.stringify(spec.masterList)}\n`);
  writeFileSync(join(pkg, 'bin/detect_ip'), spec.ipDetect, { mode: 0o755 });
  const configId = `dcos-config--setup_${sha1(JSON.stringify(spec.masterList))}`;
  mkdirSync(join(dir, 'packages/dcos-config'), { recursive: true });
  execFileSync('tar', ['-cJf', join(dir, `packages/dcos-config/${configId}.tar.xz`), '-C', pkg, 'etc', 'bin']);
  execFileSync('rm', ['-rf', pkg]);
  const list = JSON.stringify([configId]);
  const listId = sha1(list);
  mkdirSync(join(dir, 'package_lists'), { recursive: true });
  writeFileSync(join(dir, `package_lists/${listId}.package_list.json`), list);
  const script = readFileSync(STANDIN, 'utf8')
    .replaceAll('@REPOSITORY_URL@', spec.bootstrapUrl)
    .replaceAll('@LIST_ID@', listId)
    .replaceAll('@LEADER@', spec.masterList[0]!)
    .replaceAll('@START_MESOS@', spec.startMesos === false ? 'no' : 'yes');
  writeFileSync(join(dir, 'dcos_install.sh'), script);
}

/** The cluster's genconf, as synth writes it: config.yaml's values and ip-detect. */
export function genconfOf(config: ClusterConfig): { bootstrapUrl: string; masterList: string[]; ipDetect: string } {
  const files = Object.fromEntries(genconfFiles(config).map((f) => [f.name, f.content]));
  const dcos = parse(files['config.yaml']!) as { bootstrap_url: string; master_list: string[] };
  return { bootstrapUrl: dcos.bootstrap_url, masterList: dcos.master_list, ipDetect: files['ip-detect']! };
}

export interface StandInBundles {
  /** The bucket's virtual-hosted name, which the sandbox's resolver maps to the bundle server. */
  readonly host: string;
  /** The folder served as https://host/. */
  readonly root: string;
  /** Each variant's bundle URL. */
  readonly urls: Readonly<Record<BundleVariant, string>>;
}

/** Writes every variant's serve folder under `root`, made from the cluster's genconf. */
export function writeStandInBundles(root: string, config: ClusterConfig): StandInBundles {
  const genconf = genconfOf(config);
  const good = new URL(genconf.bootstrapUrl);
  const urls = Object.fromEntries(
    BUNDLE_VARIANTS.map((v) => [v, v === 'good' ? genconf.bootstrapUrl : `${good.origin}/${v}`]),
  ) as Record<BundleVariant, string>;
  const folder = (v: BundleVariant) => join(root, new URL(urls[v]).pathname);
  writeServeFolder(folder('good'), genconf);
  writeServeFolder(folder('other-masters'), { ...genconf, bootstrapUrl: urls['other-masters'], masterList: [...genconf.masterList.slice(1), '10.0.99.10'] });
  writeServeFolder(folder('mesos-never-up'), { ...genconf, bootstrapUrl: urls['mesos-never-up'], startMesos: false });
  writeServeFolder(folder('other-url'), genconf);
  return { host: good.hostname, root, urls };
}

export interface BundleServer {
  readonly server: Server;
  /** `path status` of every request, in order. */
  readonly requests: string[];
}

/** Serves `root` over HTTPS on a Unix socket: an object, or 403 as S3 answers a reader that may not list the bucket. */
export async function startBundleServer(socketPath: string, root: string, tls: { key: string; cert: string }): Promise<BundleServer> {
  const requests: string[] = [];
  const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]!));
    let body: Buffer | undefined;
    try {
      if (!path.includes('..')) body = readFileSync(join(root, path));
    } catch {
      body = undefined;
    }
    requests.push(`${path} ${body ? 200 : 403}`);
    if (!body) res.writeHead(403, { 'Content-Type': 'application/xml' }).end('<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>');
    else res.writeHead(200, { 'Content-Length': body.length }).end(body);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socketPath, resolve));
  return { server, requests };
}

/**
 * What a user does before the first deploy, against an emulator: a stand-in genconf/serve made from the cluster's
 * genconf, uploaded by `npm run bundle`'s code to the location in `out`'s manifest (which makes the bucket).
 */
export async function uploadStandInBundle(out: string, config: ClusterConfig, endpointUrl: string): Promise<void> {
  const { parseManifest } = await import('../../lib/manifest.js');
  const { bundleRecordOf, uploadBundle } = await import('../../lib/bundle.js');
  const { connect } = await import('../../lib/deploy/aws.js');
  const location = parseManifest(out).bundle!;
  const serve = join(out, '..', `serve-${location.bucket}`);
  writeServeFolder(serve, genconfOf(config));
  const { s3 } = await connect({ endpointUrl, region: location.region });
  try {
    await uploadBundle({ s3, location, record: bundleRecordOf(out, parseManifest(out)), serve, tlsOnly: false, print: () => {} });
  } finally {
    s3.destroy();
    execFileSync('rm', ['-rf', serve]);
  }
}
