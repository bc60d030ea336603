/**
 * The hardening audit of a template set: what the internet can reach (exposure) and which rules the
 * templates break (findings), from the Control Tower pack run with cfn-guard and from our own rules,
 * after waivers. Synth calls `auditTemplateSet` on what it wrote and fails on any finding; the diagram
 * draws the internet edges from `exposure`.
 */
import { exposureOf, type GroupExposure } from './exposure.js';
import { sortFindings, type Finding } from './finding.js';
import { runControlTower } from './guard.js';
import { loadTemplateSet, type TemplateSet } from './load.js';
import { analyzeNetwork } from './network.js';
import { runDcosRules } from './rules.js';
import { applyWaivers, declaredWaivers, type Waiver } from './waivers.js';

export type { Certainty, GroupExposure, InternetPath, ResourceLocation } from './exposure.js';
export type { Finding } from './finding.js';
export type { Fact, NetworkModel, Protocol, Role } from './model.js';
export type { Waiver } from './waivers.js';
export { WAIVABLE_RULES, WAIVERS_METADATA_KEY } from './waivers.js';

export interface AuditResult {
  /** The paths audited, as given. */
  readonly label: string;
  /** Every instance and auto scaling group with its internet paths (empty: unreachable). */
  readonly exposure: readonly GroupExposure[];
  /** Rules broken and not validly waived, sorted by rule, stack, resource. Empty means the set passes. */
  readonly findings: readonly Finding[];
  /** Every waiver written in the templates, with whether it is valid and whether it set a finding aside. */
  readonly waivers: readonly Waiver[];
}

/**
 * Audits a template set: a folder (with `manifest.json`, as synth writes it, or any folder of templates),
 * template files, or a set already loaded. Bad input throws a UserError naming the file (and line).
 */
export async function auditTemplateSet(input: string | readonly string[] | TemplateSet): Promise<AuditResult> {
  const set = typeof input === 'string' ? loadTemplateSet([input]) : 'stacks' in input ? input : loadTemplateSet(input);
  // The cfn-guard processes start first and run while our own analysis does.
  const controlTower = runControlTower(set.stacks);
  controlTower.catch(() => {}); // awaited below; if our analysis throws first, its error is the one reported
  const network = analyzeNetwork(set);
  const ours = runDcosRules(set, network);
  const found = [...(await controlTower), ...ours];
  const { findings, waivers } = applyWaivers(found, declaredWaivers(set));
  return { label: set.label, exposure: exposureOf(network), findings: sortFindings(findings), waivers };
}
