import { parseCommandArgs } from '../args.js';
import { ValidationError } from '../errors.js';
import { knownClusters, loadCluster } from '../definitions.js';
import { compile, writeOutput, type Compiled } from '../synth.js';
import { childStacks } from '../../stacks/cluster.js';
import type { ClusterConfig } from '../../stacks/config.js';
import { validateDefinition } from '../../stacks/validate.js';

const HELP = `Usage: npm run synth -- [--cluster NAME] [--out DIR] [--no-audit]

Compiles a cluster definition (stacks/clusters/NAME.ts) to nested CloudFormation templates in YAML:
root.yaml, network.yaml, master-zone.yaml, agents.yaml, vpn.yaml and manifest.json; and to the DC/OS
configuration the install bundle is made from: genconf/config.yaml, genconf/ip-detect and, over more than
one Availability Zone, genconf/fault-domain-detect (run dcos_generate_config.sh on them, then 'npm run bundle').

Before anything is written, the definition is validated and the templates are checked (parameters passed
and declared, outputs read and present, CloudFormation limits); all problems are reported together.
Then the hardening audit (the same as 'npm run audit') runs over the compiled templates: any finding
fails the synth. Synth does not run cfn-lint: 'npm run lint' does. The templates are written to a fresh
folder that replaces DIR only when every check and the audit passed, so a failed or interrupted synth
leaves DIR exactly as it was.

Options:
  --cluster NAME  cluster definition to compile (default: default; known: ${knownClusters().join(', ')})
  --out DIR       output folder (default: out). Replaced whole, so it must be new, empty, or written by
                  synth (marked with .dcos-cfn-synth, holding nothing else but diagram's architecture.svg
                  and package's packaged/, which are removed with the old templates, and said so); never
                  the project or its sources, nor a folder inside another synth output
  --no-audit      skip the audit (quicker iterations on a definition; 'npm run audit' checks later)
  -h, --help      this text`;

/** What the previous templates' picture and package folder became, and how to make them again. */
function removedNote(outDir: string, removed: readonly string[]): string {
  const names = removed.map((e) => (e === 'packaged' ? `${outDir}/packaged/` : `${outDir}/${e}`));
  const again = [...new Set(removed.map((e) => (e === 'packaged' ? "'npm run package'" : "'npm run diagram'")))];
  return `Removed with the previous templates, which they were made from: ${names.join(', ')}. Run ${again.join(' and ')} to make them from these.`;
}

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

/**
 * The hardening audit over the compiled templates, in memory (their YAML reads back to the same objects),
 * before anything is swapped into `outDir`; throws with every finding.
 */
async function audit(result: Compiled, outDir: string): Promise<string> {
  const [{ auditTemplateSet }, { templateSetOf }] = await Promise.all([import('../audit/audit.js'), import('../audit/load.js')]);
  const audited = await auditTemplateSet(templateSetOf(outDir, result.root, result.children));
  if (audited.findings.length > 0) {
    throw new ValidationError(
      `The audit found ${audited.findings.length} problem(s) in the synthesized templates; nothing was written:`,
      audited.findings.map((f) => `${f.rule} ${f.stack}/${f.resource}: ${f.message}`),
    );
  }
  const exposed = audited.exposure.filter((e) => e.paths.length > 0).length;
  return `Audit: ${audited.exposure.length} compute groups, ${exposed} reachable from the internet as designed, 0 findings, ${audited.waivers.length} waivers ('npm run audit' lists them).`;
}

/**
 * Starts cfn-guard on the nested stacks' templates of a valid config now, so it runs while `compile` writes
 * their YAML (~0.15 s); the audit then takes these runs' results (same templates, same JSON: the stack
 * functions are pure). The root's template waits for the others' hashes, so the audit checks it.
 */
async function startAudit(config: ClusterConfig): Promise<void> {
  if (validateDefinition(config).length > 0) return; // compile reports it
  const { startControlTower } = await import('../audit/guard.js');
  startControlTower(Object.values(childStacks(config)));
}

export async function main(argv: readonly string[]): Promise<number> {
  const { values } = parseCommandArgs('synth', argv, {
    cluster: { type: 'string', default: 'default' },
    out: { type: 'string', default: 'out' },
    'no-audit': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const config = await loadCluster(values.cluster!);
  if (!values['no-audit']) await startAudit(config);
  let result: Compiled;
  let audited = '';
  const outDir = values.out!.replace(/(.)\/+$/, '$1');
  let removed: readonly string[];
  try {
    result = compile(config, values.cluster!);
    ({ removed } = await writeOutput(result, values.out!, values['no-audit'] ? undefined : async () => {
      audited = await audit(result, outDir);
    }));
  } catch (err) {
    // A synth that failed needs no cfn-guard still running (and would wait for it to exit).
    if (!values['no-audit']) await (await import('../audit/guard.js')).stopControlTower();
    throw err;
  }
  console.log(table(result, outDir));
  console.log(`DC/OS config: ${outDir}/genconf/ (${result.genconf.map((f) => f.name).join(', ')}), bootstrap_url ${result.manifest.bundle?.url}`);
  if (audited) console.log(audited);
  if (removed.length) console.log(removedNote(outDir, removed));
  for (const w of result.warnings) console.log(`warning: ${w}`);
  return 0;
}
