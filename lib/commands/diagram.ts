import { existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseCommandArgs } from '../args.js';
import { UserError } from '../errors.js';
import { drawTemplateSet } from '../diagram/diagram.js';

const HELP = `Usage: npm run diagram -- [--out DIR] [--file PATH] [--dot]

Draws the synthesized cluster (DIR, as 'npm run synth' writes it) as an SVG picture: the VPC and its
Availability Zones, each zone's subnets (public, master zone, private agents, public agents), the
masters, agents, VPN gateway, admin instance, load balancers, NAT and internet gateways, and the
internet's ways in, labelled with their ports. The internet's edges are the audit's exposure table
('npm run audit'), so the picture and the audit cannot disagree. Laid out by Graphviz (WebAssembly).
Same templates, same bytes.

Options:
  --out DIR    synthesized templates with manifest.json (default: out)
  --file PATH  where to write the SVG, in a folder that exists (default: DIR/architecture.svg)
  --dot        also write the Graphviz source beside it (PATH with .dot)
  -h, --help   this text`;

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs('diagram', argv, {
    out: { type: 'string', default: 'out' },
    file: { type: 'string' },
    dot: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const dir = values.out!.replace(/\/+$/, '') || '.';
  if (!existsSync(dir)) throw new UserError(`${dir}/ not found. Run 'npm run synth' first, or pass --out DIR with the synthesized templates.`);
  const file = values.file ?? join(dir, 'architecture.svg');
  if (!statSync(dirname(file), { throwIfNoEntry: false })?.isDirectory()) {
    throw new UserError(`--file ${file}: ${dirname(file)} is not an existing folder. Create it first, or pass a path in a folder that exists.`, 2);
  }
  const { architecture, dot, svg } = await drawTemplateSet(dir);
  writeFileSync(file, svg);
  if (values.dot) writeFileSync(file.replace(/\.svg$/, '') + '.dot', dot);
  const groups = architecture.exposure.length;
  const ingress = architecture.edges.filter((e) => e.kind === 'ingress').length;
  console.log(`Wrote ${file}: ${groups} compute groups, ${architecture.nodes.length} boxes, ${ingress} internet ingress edge${ingress === 1 ? '' : 's'}.`);
  return 0;
}
