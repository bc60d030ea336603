/**
 * A stand-in DC/OS install bundle (the `genconf/serve` folder `dcos_generate_config.sh` makes), laid out like the
 * real one where the node bootstrap reads it: `dcos_install.sh` names the cluster package list,
 * `package_lists/<id>.package_list.json` names the packages, `packages/dcos-config/<id>.tar.xz` holds
 * `etc/master_list` and `bin/detect_ip` (the README's IMDSv2 ip-detect). Served over HTTPS with a test CA.
 *
 * Variants, each its own folder under the server's root: `good` (the templates' master list), `other-masters`
 * (another list), `mesos-never-up` (installs but never starts Mesos). Any other path answers 404.
 */
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join, normalize } from 'node:path';

export const BUNDLE_HOST = 'bundle.dcos-cfn.test';
const STANDIN = new URL('../../../test/boot/standin/dcos_install.sh', import.meta.url);

export type BundleVariant = 'good' | 'other-masters' | 'mesos-never-up';

/** The README's `genconf/ip-detect`, which DC/OS runs as /opt/mesosphere/bin/detect_ip. */
export function readmeIpDetect(): string {
  const found = /with a `genconf\/ip-detect`[^\n]*\n\n```sh\n([\s\S]*?)```/.exec(readFileSync('README.md', 'utf8'));
  if (!found) throw new Error('README.md shows no genconf/ip-detect');
  return found[1]!;
}

const sha1 = (text: string | Buffer) => createHash('sha1').update(text).digest('hex');

function writeVariant(root: string, variant: BundleVariant, masters: readonly string[]): void {
  const dir = join(root, variant);
  const listed = variant === 'other-masters' ? [...masters.slice(1), '10.0.99.10'] : masters;
  const pkg = join(dir, 'pkg');
  mkdirSync(join(pkg, 'etc'), { recursive: true });
  mkdirSync(join(pkg, 'bin'), { recursive: true });
  writeFileSync(join(pkg, 'etc/master_list'), `${JSON.stringify(listed)}\n`);
  writeFileSync(join(pkg, 'bin/detect_ip'), readmeIpDetect(), { mode: 0o755 });
  const configId = `dcos-config--setup_${sha1(JSON.stringify(listed))}`;
  mkdirSync(join(dir, 'packages/dcos-config'), { recursive: true });
  execFileSync('tar', ['-cJf', join(dir, `packages/dcos-config/${configId}.tar.xz`), '-C', pkg, 'etc', 'bin']);
  const list = JSON.stringify([configId]);
  const listId = sha1(list);
  mkdirSync(join(dir, 'package_lists'), { recursive: true });
  writeFileSync(join(dir, `package_lists/${listId}.package_list.json`), list);
  const script = readFileSync(STANDIN, 'utf8')
    .replaceAll('@REPOSITORY_URL@', bundleUrl(variant))
    .replaceAll('@LIST_ID@', listId)
    .replaceAll('@LEADER@', masters[0]!)
    .replaceAll('@START_MESOS@', variant === 'mesos-never-up' ? 'no' : 'yes');
  writeFileSync(join(dir, 'dcos_install.sh'), script);
}

/** The `DcosInstallerUrl` of a variant (or of a path that answers 404). */
export function bundleUrl(variant: BundleVariant | 'missing'): string {
  return `https://${BUNDLE_HOST}/bundles/${variant}`;
}

export interface BundleServer {
  readonly server: Server;
  /** `path status` of every request, in order. */
  readonly requests: string[];
}

/** Writes every variant under `root/bundles` and serves `root` over HTTPS on a Unix socket. */
export async function startBundleServer(socketPath: string, root: string, tls: { key: string; cert: string }, masters: readonly string[]): Promise<BundleServer> {
  for (const variant of ['good', 'other-masters', 'mesos-never-up'] as const) writeVariant(join(root, 'bundles'), variant, masters);
  const requests: string[] = [];
  const server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]!));
    let body: Buffer | undefined;
    try {
      if (path.startsWith('/bundles/') && !path.includes('/pkg/')) body = readFileSync(join(root, path));
    } catch {
      body = undefined;
    }
    requests.push(`${path} ${body ? 200 : 404}`);
    if (!body) res.writeHead(404).end('Not Found\n');
    else res.writeHead(200, { 'Content-Length': body.length }).end(body);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(socketPath, resolve));
  return { server, requests };
}
