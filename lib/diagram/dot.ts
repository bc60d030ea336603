/**
 * The architecture as Graphviz DOT: the VPC as a cluster, each Availability Zone a column inside it,
 * each subnet a box in the column (public subnets green, private ones blue, as in AWS diagrams), the
 * internet above. Graphviz places everything; we only say what is inside what, and which tier of an
 * AZ comes first (invisible edges between the subnets of one AZ, in TIERS order).
 */
import { INTERNET, TIER_LABELS, TIERS, type Architecture, type DiagramEdge, type DiagramNode, type Subnet, type Vpc } from './model.js';

const FONT = 'Helvetica,Arial,sans-serif';

/** Fill and border colour per role or node kind. */
const COLORS: Record<string, { readonly fill: string; readonly border: string }> = {
  master: { fill: '#EDE7F6', border: '#5E35B1' },
  'private-agent': { fill: '#E3F2FD', border: '#1565C0' },
  'public-agent': { fill: '#E0F2F1', border: '#00796B' },
  vpn: { fill: '#FFF3E0', border: '#E65100' },
  admin: { fill: '#F5F5F5', border: '#616161' },
  other: { fill: '#FFFFFF', border: '#616161' },
  'load-balancer': { fill: '#F1F8E9', border: '#558B2F' },
  nat: { fill: '#FFFFFF', border: '#78909C' },
  'internet-gateway': { fill: '#FFFFFF', border: '#8C4FFF' },
};

const EDGE_STYLES: Record<DiagramEdge['kind'], string> = {
  ingress: 'color="#D13212", fontcolor="#D13212", penwidth=2.2, fontsize=12, arrowsize=0.9',
  possible: 'color="#D13212", fontcolor="#D13212", style=dashed, penwidth=1.8, fontsize=11, arrowsize=0.9',
  forward: 'color="#558B2F", fontcolor="#33691E", penwidth=1.3, fontsize=10',
  admin: 'color="#E65100", fontcolor="#BF360C", style=dashed, penwidth=1.1, fontsize=10',
  egress: 'color="#78909C", fontcolor="#546E7A", style=dotted, penwidth=1.3, fontsize=10, constraint=false',
};

/** Graphviz's built-in text metrics run a little short of a browser's Arial: pad labels that sit on a border. */
const PAD = '&#160;&#160;&#160;&#160;';

const quote = (s: string) => `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
const html = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

function nodeLine(node: DiagramNode, indent: string): string {
  const colors = COLORS[node.kind === 'compute' ? (node.role ?? 'other') : node.kind]!;
  const details = node.details.map((d) => `<BR/><FONT POINT-SIZE="10" COLOR="#424242">${html(d)}</FONT>`).join('');
  const label = `<<B>${html(node.title)}</B>${details}>`;
  return `${indent}${quote(node.key)} [id=${quote(`node:${node.key}`)}, class=${quote(node.kind)}, label=${label}, shape=box, style="rounded,filled", fillcolor="${colors.fill}", color="${colors.border}", penwidth=1.4];`;
}

function subnetLabel(subnet: Subnet): string {
  const routing = subnet.internetRouted ? 'routed to the internet gateway' : subnet.nat ? `outbound via ${subnet.nat.split(':').pop()}` : 'no route out';
  return `<${html(TIER_LABELS[subnet.tier])}<FONT COLOR="#37474F">   ${html(subnet.id)}${subnet.cidr ? ` · ${html(subnet.cidr)}` : ''}${PAD}</FONT><BR ALIGN="LEFT"/><FONT POINT-SIZE="9" COLOR="#546E7A">${html(routing)}</FONT><BR ALIGN="LEFT"/>>`;
}

/** An invisible point per subnet, so an empty subnet still shows and the tiers stack in order. */
const anchor = (subnet: Subnet) => `anchor:${subnet.key}`;

function vpcLines(vpc: Vpc, nodes: readonly DiagramNode[], clusterIds: { next: number }): string[] {
  const lines: string[] = [];
  lines.push(`  subgraph cluster_${clusterIds.next++} {`);
  lines.push(`    id=${quote(`vpc:${vpc.key}`)}; label=<VPC   ${html(vpc.id)}${vpc.cidr ? ` · ${html(vpc.cidr)}` : ''}>; labeljust=l; fontsize=14;`);
  lines.push(`    style="rounded"; color="#8C4FFF"; penwidth=2; margin=16;`);
  for (const node of nodes.filter((n) => n.vpc === vpc.key && n.subnet === undefined)) lines.push(nodeLine(node, '    '));
  for (const zone of vpc.zones) {
    lines.push(`    subgraph cluster_${clusterIds.next++} {`);
    lines.push(`      id=${quote(`az:${vpc.key}:${zone.label}`)}; label=<${html(zone.label)}>; labeljust=l; fontsize=13;`);
    lines.push(`      style="rounded,dashed"; color="#147EBA"; penwidth=1.5; margin=12;`);
    for (const subnet of zone.subnets) {
      const colors = subnet.internetRouted ? { fill: '#F2F8EC', border: '#7AA116' } : { fill: '#EEF6FB', border: '#147EBA' };
      lines.push(`      subgraph cluster_${clusterIds.next++} {`);
      lines.push(`        id=${quote(`subnet:${subnet.key}`)}; label=${subnetLabel(subnet)}; labeljust=l; fontsize=11;`);
      lines.push(`        style="rounded,filled"; fillcolor="${colors.fill}"; color="${colors.border}"; margin=10;`);
      lines.push(`        ${quote(anchor(subnet))} [shape=point, style=invis, width=0, height=0, label=""];`);
      for (const node of nodes.filter((n) => n.subnet === subnet.key)) lines.push(nodeLine(node, '        '));
      lines.push('      }');
    }
    // Tiers top to bottom (public first, then the master zone, the private and the public agents):
    // each subnet's anchor above its boxes, its boxes above the next subnet's anchor.
    for (let i = 0; i < zone.subnets.length; i++) {
      const subnet = zone.subnets[i]!;
      const inside = nodes.filter((n) => n.subnet === subnet.key).map((n) => n.key);
      for (const key of inside) lines.push(`      ${quote(anchor(subnet))} -> ${quote(key)} [style=invis];`);
      const next = zone.subnets[i + 1];
      if (next) for (const key of inside.length ? inside : [anchor(subnet)]) lines.push(`      ${quote(key)} -> ${quote(anchor(next))} [style=invis];`);
    }
    lines.push('    }');
  }
  lines.push('  }');
  // The same tier on one row across the zones, the zones left to right in order.
  for (const tier of TIERS) {
    const row = vpc.zones.flatMap((z) => z.subnets.filter((s) => s.tier === tier)).map((s) => quote(anchor(s)));
    if (row.length > 1) lines.push(`  { rank=same; ${row.join('; ')}; }`, `  ${row.join(' -> ')} [style=invis];`);
  }
  // The internet gateway between the internet and the public subnets.
  const firstTier = vpc.zones.flatMap((z) => z.subnets.slice(0, 1));
  for (const gateway of nodes.filter((n) => n.kind === 'internet-gateway' && n.vpc === vpc.key)) {
    // ordering=out keeps its (invisible) edges to the zones in zone order: AZ 1 on the left.
    lines.push(`  ${quote(gateway.key)} [ordering=out];`);
    lines.push(`  ${quote(INTERNET)} -> ${quote(gateway.key)} [dir=none, color="#8C4FFF", penwidth=1.5, weight=5];`);
    for (const subnet of firstTier) lines.push(`  ${quote(gateway.key)} -> ${quote(anchor(subnet))} [style=invis];`);
  }
  return lines;
}

const LEGEND: readonly [DiagramEdge['kind'], string, string][] = [
  ['ingress', '#D13212', 'reachable from the internet, with ports (= npm run audit exposure)'],
  ['possible', '#D13212', 'may be reachable: the templates do not rule it out'],
  ['forward', '#558B2F', 'load balancer listener to its targets'],
  ['admin', '#E65100', 'admin access from the VPN gateway'],
  ['egress', '#78909C', 'outbound only, through NAT'],
];

/** A key to the edge colours, beside the internet. */
function legend(arch: Architecture): string {
  const kinds = new Set(arch.edges.map((e) => e.kind));
  const rows = LEGEND.filter(([kind]) => kinds.has(kind)).map(
    ([kind, color, text]) =>
      `<TR><TD><FONT COLOR="${color}" POINT-SIZE="14"><B>${kind === 'ingress' ? '━━▶' : kind === 'possible' ? '╍╍▶' : kind === 'forward' ? '──▶' : kind === 'admin' ? '- - ▶' : '· · ▶'}</B></FONT></TD><TD ALIGN="LEFT"><FONT POINT-SIZE="10">${html(text)}</FONT></TD></TR>`,
  );
  return `  legend [id="node:legend", class="legend", shape=plain, label=<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="2" CELLPADDING="1">${rows.join('')}</TABLE>>];\n  { rank=same; ${quote(INTERNET)}; legend; }`;
}

/** The DOT source of the picture; the same architecture always gives the same text. */
export function toDot(arch: Architecture): string {
  const clusterIds = { next: 0 };
  const lines = [
    'digraph architecture {',
    `  graph [label=<${html(arch.title)}>, labelloc=t, fontsize=20, fontname=${quote(FONT)}, rankdir=TB, newrank=true, compound=true, nodesep=0.3, ranksep=0.45, pad=0.3, bgcolor="white", splines=spline, mclimit=0.01];`,
    `  node [fontname=${quote(FONT)}, fontsize=12, margin="0.28,0.08"];`,
    `  edge [fontname=${quote(FONT)}, arrowsize=0.7];`,
    legend(arch),
    `  ${quote(INTERNET)} [id="node:internet", class="internet", label=<<B>Internet</B>>, shape=oval, style=filled, fillcolor="#FBE9E7", color="#D13212", penwidth=1.6, fontsize=14, width=1.6];`,
  ];
  for (const node of arch.nodes.filter((n) => n.vpc === undefined)) lines.push(nodeLine(node, '  '));
  for (const vpc of arch.vpcs) lines.push(...vpcLines(vpc, arch.nodes, clusterIds));
  for (const edge of arch.edges) {
    const id = `${edge.kind}:${edge.from}->${edge.to}`;
    lines.push(`  ${quote(edge.from)} -> ${quote(edge.to)} [id=${quote(id)}, class=${quote(edge.kind)}, ${edge.kind === 'egress' ? '' : `label=${quote(` ${edge.label} `)}, `}${EDGE_STYLES[edge.kind]}];`);
  }
  lines.push('}', '');
  return lines.join('\n');
}
