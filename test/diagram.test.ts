import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditTemplateSet } from '../lib/audit/audit.js';
import { formatRanges, type GroupExposure, type InternetPath } from '../lib/audit/exposure.js';
import { drawTemplateSet } from '../lib/diagram/diagram.js';
import { sha256 } from '../lib/manifest.js';
import { compile, writeOutput } from '../lib/synth.js';
import { DEFINITIONS } from './helpers/template.js';

const CLI = join(process.cwd(), 'dist/lib/cli.js');

/** `&#45;&gt;` and friends back to text. */
const unescape = (s: string) =>
  s.replace(/&#(\d+);/g, (_, n: string) => String.fromCharCode(Number(n))).replaceAll('&gt;', '>').replaceAll('&lt;', '<').replaceAll('&quot;', '"').replaceAll('&amp;', '&');

interface SvgEdge {
  readonly from: string;
  readonly to: string;
  readonly label: string;
}

/** The edges of one class in Graphviz's SVG: `<g id="..." class="edge KIND"><title>a->b</title> ... <text>label</text>`. */
function svgEdges(svg: string, kind: string): SvgEdge[] {
  return [...svg.matchAll(new RegExp(`<g id="[^"]*" class="edge ${kind}">([\\s\\S]*?)</g>`, 'g'))].map((m) => {
    const [from, to] = unescape(/<title>([^<]*)<\/title>/.exec(m[1]!)![1]!).split('->');
    const label = [...m[1]!.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((t) => unescape(t[1]!).trim()).join(' ');
    return { from: from!, to: to!, label };
  });
}

/** The boxes in the SVG, by the resource they draw (`Stack:LogicalId`, several for a multi-AZ group). */
function svgNodes(svg: string): string[] {
  return [...svg.matchAll(/<g id="node:([^"]*)" class="node ([^"]*)">/g)]
    .filter((m) => ['compute', 'load-balancer', 'nat', 'internet-gateway'].includes(unescape(m[2]!)))
    .map((m) => unescape(m[1]!).split('@')[0]!);
}

/** The internet edges the audit's exposure stands for: to the group (direct) or to the load balancer. */
function expectedIngress(exposure: readonly GroupExposure[]): Map<string, string> {
  const byTarget = new Map<string, InternetPath[]>();
  for (const group of exposure) {
    for (const path of group.paths) {
      const target = path.via === 'direct' ? `${group.stack}:${group.resource}` : `${path.loadBalancer!.stack}:${path.loadBalancer!.resource}`;
      byTarget.set(target, [...(byTarget.get(target) ?? []), path]);
    }
  }
  return new Map([...byTarget].map(([target, paths]) => [target, formatRanges(paths)]));
}

/** Top-left corner of a cluster (`<g id="az:..." class="cluster"><title/><path d="Mx,y ...`). */
function clusterCorner(svg: string, id: string): { x: number; y: number } {
  const escaped = id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const m = new RegExp(`<g id="${escaped}" class="cluster">\\s*<title>[^<]*</title>\\s*<path[^>]*d="M([-\\d.]+),([-\\d.]+)`).exec(svg);
  assert.ok(m, `cluster ${id} in the SVG`);
  return { x: Number(m[1]), y: Number(m[2]) };
}

describe('npm run diagram', function () {
  const dirs: Record<string, string> = {};

  before(async () => {
    for (const [name, config] of Object.entries(DEFINITIONS)) {
      dirs[name] = mkdtempSync(join(tmpdir(), `dcos-cfn-diagram-${name}-`));
      await writeOutput(compile(config), dirs[name]!);
    }
  });
  after(() => Object.values(dirs).forEach((d) => rmSync(d, { recursive: true, force: true })));

  for (const name of Object.keys(DEFINITIONS)) {
    describe(`the ${name} cluster`, () => {
      it('draws every compute group the audit knows, each with its logical ID', async () => {
        const [{ svg }, audit] = await Promise.all([drawTemplateSet(dirs[name]!), auditTemplateSet(dirs[name]!)]);
        const drawn = new Set(svgNodes(svg));
        assert.ok(audit.exposure.length >= 5);
        for (const group of audit.exposure) {
          assert.ok(drawn.has(`${group.stack}:${group.resource}`), `${group.stack}/${group.resource} is drawn`);
          assert.ok(svg.includes(`<b>${group.resource}</b>`) || svg.includes(`>${group.resource}</text>`), `${group.resource} is written`);
        }
        assert.deepEqual(
          new Set(audit.exposure.map((g) => g.role)),
          new Set(['master', 'private-agent', 'public-agent', 'vpn', 'admin']),
        );
      });

      it("draws exactly the audit's internet edges, labelled with its ports", async () => {
        const [{ svg }, audit] = await Promise.all([drawTemplateSet(dirs[name]!), auditTemplateSet(dirs[name]!)]);
        const ingress = svgEdges(svg, 'ingress');
        assert.ok(ingress.every((e) => e.from === 'internet'));
        assert.deepEqual(new Map(ingress.map((e) => [e.to.split('@')[0]!, e.label])), expectedIngress(audit.exposure));
        assert.equal(ingress.length, new Set(ingress.map((e) => e.to)).size, 'one edge per target');
        // Through a load balancer, the LB's listener is drawn on to every box of the group.
        const forward = svgEdges(svg, 'forward');
        for (const group of audit.exposure) {
          for (const path of group.paths.filter((p) => p.via === 'load-balancer')) {
            const lb = `${path.loadBalancer!.stack}:${path.loadBalancer!.resource}`;
            assert.ok(forward.some((e) => e.from === lb && e.to.startsWith(`${group.stack}:${group.resource}`) && e.label.includes(String(path.from))), `${lb} forwards ${path.from} to ${group.resource}`);
          }
        }
      });

      it('puts each zone of every AZ in the VPC, AZs left to right, tiers top to bottom', async () => {
        const { svg, architecture } = await drawTemplateSet(dirs[name]!);
        const vpc = architecture.vpcs[0]!;
        const expectedZones = name === 'ha' ? 3 : 1;
        assert.deepEqual(vpc.zones.map((z) => z.label), Array.from({ length: expectedZones }, (_, i) => `AZ ${i + 1}`));
        const azX = vpc.zones.map((z) => clusterCorner(svg, `az:${vpc.key}:${z.label}`).x);
        assert.deepEqual(azX, [...azX].sort((a, b) => a - b), 'AZ 1 leftmost');
        for (const zone of vpc.zones) {
          assert.deepEqual(zone.subnets.map((s) => s.tier), ['public', 'public-agent', 'master', 'private-agent']);
          const ys = zone.subnets.map((s) => clusterCorner(svg, `subnet:${s.key}`).y);
          // SVG y grows downwards; Graphviz writes negative coordinates, so compare in order.
          for (let i = 1; i < ys.length; i++) assert.ok(ys[i]! > ys[i - 1]!, `${zone.subnets[i]!.id} below ${zone.subnets[i - 1]!.id}`);
        }
        for (const kind of ['load-balancer', 'nat', 'internet-gateway']) assert.ok(architecture.nodes.some((n) => n.kind === kind), `a ${kind} is drawn`);
      });
    });
  }

  it('follows the audit when the templates open another port to the internet', async () => {
    // GIVEN the default cluster with ssh opened to the world on the VPN gateway's security group
    const dir = mkdtempSync(join(tmpdir(), 'dcos-cfn-diagram-open-'));
    await writeOutput(compile(DEFINITIONS['default']!), dir);
    const network = readFileSync(join(dir, 'network.yaml'), 'utf8').replace(
      /\nOutputs:/,
      '\n  VpnFromInternet22Ingress:\n    Type: AWS::EC2::SecurityGroupIngress\n    Properties:\n      GroupId: !Ref VpnSecurityGroup\n      IpProtocol: tcp\n      FromPort: 22\n      ToPort: 22\n      CidrIp: 0.0.0.0/0\nOutputs:',
    );
    writeFileSync(join(dir, 'network.yaml'), network);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    manifest.stacks.Network.sha256 = sha256(network);
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    // WHEN it is drawn
    const { svg } = await drawTemplateSet(dir);
    // THEN the VPN gateway's internet edge carries the new port, as the audit does
    const vpn = svgEdges(svg, 'ingress').find((e) => e.to === 'Vpn:VpnGateway');
    assert.equal(vpn?.label, 'tcp 22; udp 1194');
    assert.deepEqual(new Map(svgEdges(svg, 'ingress').map((e) => [e.to, e.label])), expectedIngress((await auditTemplateSet(dir)).exposure));
    rmSync(dir, { recursive: true });
  });

  it('writes the same bytes on every run', async () => {
    const first = await drawTemplateSet(dirs['ha']!);
    const second = await drawTemplateSet(dirs['ha']!);
    assert.equal(first.svg, second.svg);
    assert.match(first.svg, /^<\?xml[\s\S]*<svg[\s\S]*<\/svg>\s*$/);
  });

  it('writes DIR/architecture.svg from the CLI, and says what to do when DIR is missing', () => {
    const ok = spawnSync(process.execPath, [CLI, 'diagram', '--out', dirs['default']!], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /Wrote .*architecture\.svg: 5 compute groups, \d+ boxes, 2 internet ingress edges\./);
    assert.match(readFileSync(join(dirs['default']!, 'architecture.svg'), 'utf8'), /<svg/);
    const missing = spawnSync(process.execPath, [CLI, 'diagram', '--out', join(tmpdir(), 'no-such-out')], { encoding: 'utf8' });
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /^error: .*no-such-out\/ not found\. Run 'npm run synth' first/);
    assert.doesNotMatch(missing.stderr, /\n\s+at /);
    const nowhere = join(tmpdir(), `dcos-no-such-folder-${process.pid}`);
    const noFolder = spawnSync(process.execPath, [CLI, 'diagram', '--out', dirs['default']!, '--file', join(nowhere, 'x.svg')], { encoding: 'utf8' });
    assert.equal(noFolder.status, 2);
    assert.match(noFolder.stderr, /^error: --file .*x\.svg: .*dcos-no-such-folder-\d+ is not an existing folder\. Create it first/);
    assert.ok(!existsSync(nowhere), 'the folder was not created');
    const bad = spawnSync(process.execPath, [CLI, 'diagram', '--colour'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /Unknown option '--colour'/);
  });
});
