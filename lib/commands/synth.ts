import { parseCommandArgs } from '../args.js';
import { compile, knownClusters, loadCluster, writeOutput, type Compiled } from '../synth.js';

const HELP = `Usage: npm run synth -- [--cluster NAME] [--out DIR]

Compiles a cluster definition (stacks/clusters/NAME.ts) to nested CloudFormation templates in YAML:
root.yaml, network.yaml, master-zone.yaml, agents.yaml, vpn.yaml and manifest.json.

Before anything is written, the definition is validated and the templates are checked (parameters passed
and declared, outputs read and present, CloudFormation limits); all problems are reported together.
The templates are written to a fresh folder that replaces DIR only when every check passed, so a failed
synth leaves DIR exactly as it was.

Options:
  --cluster NAME  cluster definition to compile (default: default; known: ${knownClusters().join(', ')})
  --out DIR       output folder (default: out)
  -h, --help      this text`;

/** 26657 → 26,657 (without toLocaleString, whose ICU start-up costs more than all of synth's formatting). */
export function withCommas(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+$)/g, ',');
}

function table(result: Compiled, outDir: string): string {
  const rows = [result.root, ...result.children].map((t) => [
    t.id,
    t.file,
    String(Object.keys(t.template.Resources).length),
    withCommas(Buffer.byteLength(t.yaml)),
  ]);
  const header = ['stack', 'file', 'resources', 'bytes'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `  ${cells.map((c, i) => (i >= 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ')}`;
  return [`Synthesized cluster '${result.cluster}' into ${outDir}/`, line(header), ...rows.map(line)].join('\n');
}

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs('synth', argv, {
    cluster: { type: 'string', default: 'default' },
    out: { type: 'string', default: 'out' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const config = await loadCluster(values.cluster!);
  const result = compile(config);
  await writeOutput(result, values.out!);
  console.log(table(result, values.out!.replace(/\/+$/, '')));
  for (const w of result.warnings) console.log(`warning: ${w}`);
  return 0;
}
