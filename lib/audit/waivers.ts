/**
 * Waivers: a rule set aside for one resource, with a written reason, in that resource's Metadata:
 *
 * ```yaml
 * Metadata:
 *   dcos:waivers:
 *     CT.S3.PR.9: Object Lock would keep the logs of a deleted cluster for years; retention is by lifecycle.
 * ```
 *
 * cfn-guard's own `Metadata.guard.SuppressedRules` (guard rule names or rule IDs, as strings or as
 * `{ id, reason }`) counts too. Only operational-choice rules (`WAIVABLE_RULES`) may be waived; a
 * waiver of a hardening rule, or one without a reason, does not waive anything and is itself a finding.
 */
import { WAIVERS_KEY } from '../template.js';
import type { ResourceLocation } from './exposure.js';
import type { Finding } from './finding.js';
import { readFileSync } from 'node:fs';
import { controlTowerRules } from './guard.js';
import type { TemplateSet } from './load.js';

/** The resource Metadata key that holds waivers: `{ "<rule ID>": "<reason>" }`. */
export const WAIVERS_METADATA_KEY = WAIVERS_KEY;

/** The rule a bad waiver breaks. */
export const WAIVER_RULE = { id: 'DCOS.WAIVER.1', title: 'Only operational-choice rules are waived, each with a reason' } as const;

/** Rules that are operational choices rather than hardening, and why each may be waived. */
export const WAIVABLE_RULES: Readonly<Record<string, string>> = {
  'CT.EC2.PR.10': 'detailed monitoring (launch templates) is a cost and observability choice',
  'CT.EC2.PR.13': 'detailed monitoring (instances) is a cost and observability choice',
  'CT.AUTOSCALING.PR.1': 'spreading a group over several Availability Zones is an availability choice the cluster definition makes',
  'CT.AUTOSCALING.PR.6': 'several instance types per group is a capacity choice',
  'CT.CLOUDWATCH.PR.2': 'log retention length is a cost and compliance choice',
  'CT.ELASTICLOADBALANCING.PR.5': 'deletion protection is a lifecycle choice',
  'CT.ELASTICLOADBALANCING.PR.6': 'access logs are an observability choice (NLBs log TLS listeners only)',
  'CT.S3.PR.2': 'server access logging (a log bucket cannot log to itself)',
  'CT.S3.PR.3': 'lifecycle policy for old versions is a retention choice',
  'CT.S3.PR.4': 'S3 event notifications are an integration choice',
  'CT.S3.PR.6': 'lifecycle policy is a retention choice',
  'CT.S3.PR.9': 'Object Lock is a retention choice',
};

export interface Waiver extends ResourceLocation {
  /** The rule ID (or cfn-guard rule name) waived. */
  readonly rule: string;
  readonly reason: string;
  /** Where it was written: our metadata key or cfn-guard's `guard.SuppressedRules`. */
  readonly source: typeof WAIVERS_METADATA_KEY | 'guard.SuppressedRules';
  /** The rule is in `WAIVABLE_RULES` and a reason is given, so the waiver takes effect. */
  readonly valid: boolean;
  /** It set aside at least one finding. */
  readonly used: boolean;
}

type Declared = Omit<Waiver, 'valid' | 'used'>;

let guardNameCache: Map<string, string[]> | undefined;

/** Guard rule names of the Control Tower rules, by rule ID (from each rule file's `rule <name>` lines). */
function guardNames(): Map<string, string[]> {
  if (guardNameCache) return guardNameCache;
  guardNameCache = new Map();
  for (const r of controlTowerRules()) {
    const names = [...readFileSync(r.guardFile, 'utf8').matchAll(/^rule ([A-Za-z0-9_]+)/gm)].map((m) => m[1]!);
    guardNameCache.set(r.id, [...(guardNameCache.get(r.id) ?? []), ...names]);
  }
  return guardNameCache;
}

function suppressedRules(metadata: Record<string, unknown>): { rule: string; reason: string }[] {
  const guard = metadata['guard'] as { SuppressedRules?: unknown } | undefined;
  const rules = Array.isArray(guard?.SuppressedRules) ? guard.SuppressedRules : [];
  return rules.map((r) => {
    if (typeof r === 'string') return { rule: r, reason: '' };
    const o = (r ?? {}) as Record<string, unknown>;
    return { rule: String(o['id'] ?? o['rule'] ?? ''), reason: String(o['reason'] ?? '') };
  });
}

/** Every waiver written in the set's resource Metadata. */
export function declaredWaivers(set: TemplateSet): Declared[] {
  return set.stacks.flatMap((stack) =>
    Object.entries(stack.template.Resources).flatMap(([resource, r]) => {
      const metadata = r.Metadata ?? {};
      const at = { stack: stack.name, file: stack.file, resource };
      const ours = Object.entries((metadata[WAIVERS_METADATA_KEY] ?? {}) as Record<string, unknown>).map(
        ([rule, reason]): Declared => ({ ...at, rule, reason: typeof reason === 'string' ? reason.trim() : '', source: WAIVERS_METADATA_KEY }),
      );
      // A guard rule name that mirrors one of our waivers (stacks/waivers.ts writes both) is the same waiver.
      const mirrored = ours.length ? new Set(ours.flatMap((w) => guardNames().get(w.rule) ?? [])) : new Set<string>();
      const guard = suppressedRules(metadata)
        .filter((w) => !(w.reason === '' && mirrored.has(w.rule)))
        .map((w): Declared => ({ ...at, ...w, source: 'guard.SuppressedRules' }));
      return [...ours, ...guard];
    }),
  );
}

const sameResource = (a: ResourceLocation, b: ResourceLocation) => a.stack === b.stack && a.resource === b.resource;
const waives = (w: Declared, f: Finding) => sameResource(w, f) && (w.rule === f.rule || w.rule === f.guardRule);

/**
 * Sets aside the findings that valid waivers cover. Returns the findings that remain, plus one
 * `DCOS.WAIVER.1` finding per invalid waiver, and every waiver with whether it is valid and used.
 */
export function applyWaivers(findings: readonly Finding[], declared: readonly Declared[]): { findings: Finding[]; waivers: Waiver[] } {
  const waivers = declared.map((w): Waiver => {
    // A guard rule name is waivable when the findings it names carry a waivable rule ID.
    const ids = new Set([w.rule, ...findings.filter((f) => waives(w, f)).map((f) => f.rule)]);
    const valid = w.reason !== '' && [...ids].some((id) => id in WAIVABLE_RULES);
    return { ...w, valid, used: valid && findings.some((f) => waives(w, f)) };
  });
  const remaining = findings.filter((f) => !waivers.some((w) => w.valid && waives(w, f)));
  const invalid = waivers
    .filter((w) => !w.valid)
    .map(
      (w): Finding => ({
        rule: WAIVER_RULE.id,
        title: WAIVER_RULE.title,
        stack: w.stack,
        file: w.file,
        resource: w.resource,
        message:
          w.reason === ''
            ? `waiver of ${w.rule} gives no reason; write why in Metadata.${WAIVERS_METADATA_KEY}.${w.rule}`
            : `${w.rule} is a hardening rule and cannot be waived; fix the resource instead (waivable: ${Object.keys(WAIVABLE_RULES).join(', ')})`,
      }),
    );
  return { findings: [...remaining, ...invalid], waivers };
}
