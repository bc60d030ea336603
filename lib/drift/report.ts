/**
 * The drift report: the drifted resources of every stack with their property differences, the
 * security-relevant ones first; what could not be checked and why; and a verdict with its exit code.
 *
 * The verdict fails closed: `in-sync` only when every stack's detection completed and no resource is
 * UNKNOWN. Resource types CloudFormation cannot check at all (NOT_CHECKED, UNSUPPORTED) are listed,
 * not counted against the verdict: no run could ever check them.
 */
import type { StackResourceDrift } from '@aws-sdk/client-cloudformation';
import { table } from '../audit/report.js';
import { declaredRules, explainedBy, securityLabel, type PropertyDrift } from './classify.js';
import type { DetectionOutcome, StackDrift } from './detect.js';

/**
 * Exit codes of `npm run drift`: 0 in sync; 3 drift found; 4 not everything could be checked (a
 * detection failed, was refused or timed out, or a resource is UNKNOWN) and nothing drifted. Errors
 * exit 1, like every command, and a wrong option 2.
 */
export const DRIFT_EXIT_CODES = { 'in-sync': 0, drifted: 3, incomplete: 4 } as const;

export type DriftVerdict = keyof typeof DRIFT_EXIT_CODES;

export interface DriftedResource {
  /** Stack path: `Root`, `Network`. */
  readonly stack: string;
  readonly logicalId: string;
  readonly physicalId: string;
  readonly type: string;
  readonly status: 'MODIFIED' | 'DELETED';
  /** Why it matters for security (`security-group rules`, `a master`), when it does. */
  readonly security?: string;
  /** The differences that are drift (explained ones left out); empty for DELETED. */
  readonly properties: readonly PropertyDrift[];
}

export interface StackSummary {
  readonly stack: string;
  readonly stackId: string;
  readonly outcome: DetectionOutcome;
  readonly reason?: string;
  readonly drifted: number;
  readonly inSync: number;
  /** NOT_CHECKED and UNSUPPORTED: types CloudFormation cannot check. */
  readonly notChecked: number;
  readonly unknown: number;
}

export interface DriftReport {
  readonly stackName: string;
  readonly region: string;
  readonly verdict: DriftVerdict;
  readonly exitCode: number;
  /** Security-relevant first, then by stack and logical ID. */
  readonly drifted: readonly DriftedResource[];
  readonly stacks: readonly StackSummary[];
  /** Resources CloudFormation could not check this time, with its reason (often a missing read permission). */
  readonly unknown: readonly { readonly resource: string; readonly type: string; readonly reason: string }[];
  /** Resource types CloudFormation cannot check, with how many resources of each. */
  readonly notChecked: Readonly<Record<string, number>>;
  /** Differences that are not drift: a security group rule declared by a separate rule resource. */
  readonly explained: readonly { readonly resource: string; readonly property: string; readonly declaredBy: string }[];
}

function propertyDrifts(drift: StackResourceDrift): PropertyDrift[] {
  return (drift.PropertyDifferences ?? []).map((d) => ({
    path: d.PropertyPath ?? '',
    difference: (d.DifferenceType ?? 'NOT_EQUAL') as PropertyDrift['difference'],
    expected: d.ExpectedValue ?? '',
    actual: d.ActualValue ?? '',
  }));
}

/** Builds the report from every stack's detection. */
export function summarizeDrift(stackName: string, region: string, stacks: readonly StackDrift[]): DriftReport {
  const all = stacks.flatMap((s) => s.resources.map((drift) => ({ stack: s.path, drift })));
  const rules = declaredRules(all);
  const drifted: DriftedResource[] = [];
  const explained: DriftReport['explained'][number][] = [];
  const unknown: DriftReport['unknown'][number][] = [];
  const notChecked: Record<string, number> = {};
  const summaries = stacks.map((s): StackSummary => {
    const counts = { drifted: 0, inSync: 0, notChecked: 0, unknown: 0 };
    for (const drift of s.resources) {
      const resource = `${s.path}/${drift.LogicalResourceId}`;
      const type = drift.ResourceType ?? '';
      const status = drift.StackResourceDriftStatus;
      if (status === 'NOT_CHECKED' || status === 'UNSUPPORTED') {
        counts.notChecked++;
        notChecked[type] = (notChecked[type] ?? 0) + 1;
        continue;
      }
      if (status === 'UNKNOWN' || (status !== 'IN_SYNC' && status !== 'MODIFIED' && status !== 'DELETED')) {
        counts.unknown++;
        unknown.push({ resource, type, reason: drift.DriftStatusReason?.trim() || `drift status ${status ?? 'missing'}` });
        continue;
      }
      const properties = propertyDrifts(drift).filter((p) => {
        const by = explainedBy(drift, p, rules);
        if (by) explained.push({ resource, property: p.path, declaredBy: by });
        return !by;
      });
      if (status === 'IN_SYNC' || (status === 'MODIFIED' && properties.length === 0 && (drift.PropertyDifferences?.length ?? 0) > 0)) {
        counts.inSync++;
        continue;
      }
      counts.drifted++;
      const security = securityLabel(drift, properties);
      drifted.push({
        stack: s.path,
        logicalId: drift.LogicalResourceId ?? '',
        physicalId: drift.PhysicalResourceId ?? '',
        type,
        status,
        ...(security ? { security } : {}),
        properties,
      });
    }
    return { stack: s.path, stackId: s.stackId, outcome: s.outcome, ...(s.reason ? { reason: s.reason } : {}), ...counts };
  });
  drifted.sort((a, b) => Number(!a.security) - Number(!b.security) || a.stack.localeCompare(b.stack) || a.logicalId.localeCompare(b.logicalId));
  const incomplete = summaries.some((s) => s.outcome !== 'complete') || unknown.length > 0;
  const verdict: DriftVerdict = drifted.length > 0 ? 'drifted' : incomplete ? 'incomplete' : 'in-sync';
  return { stackName, region, verdict, exitCode: DRIFT_EXIT_CODES[verdict], drifted, stacks: summaries, unknown, notChecked, explained };
}

/** A value for the table: one line, at most `width` characters. The JSON output keeps values whole. */
function clip(value: string, width = 100): string {
  const line = value.replace(/\s+/g, ' ');
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

function driftTable(resources: readonly DriftedResource[]): string {
  const rows = resources.flatMap((r) => {
    const head = [r.security ?? '', `${r.stack}/${r.logicalId}`, r.type, r.status];
    if (r.properties.length === 0) return [[...head, '', '', '', '']];
    return r.properties.map((p, i) => [...(i === 0 ? head : ['', '', '', '']), p.path, p.difference, clip(p.expected), clip(p.actual)]);
  });
  return table(['Security', 'Resource', 'Type', 'Drift', 'Property', 'Difference', 'Expected', 'Actual'], rows);
}

const OUTCOME_TEXT: Record<DetectionOutcome, string> = {
  complete: 'complete',
  failed: 'DETECTION_FAILED',
  'timed-out': 'timed out',
  refused: 'refused',
};

/** The whole report as text: drifted resources, stacks, what was not checked, and the verdict. */
export function formatDriftReport(report: DriftReport): string {
  const lines: string[] = [];
  const security = report.drifted.filter((r) => r.security).length;
  const stacksDrifted = report.stacks.filter((s) => s.drifted > 0).length;
  if (report.drifted.length > 0) {
    lines.push(
      `Drift of ${report.stackName} (${report.region}): ${report.drifted.length} resource(s) drifted in ${stacksDrifted} of ${report.stacks.length} stack(s), ${security} security-relevant.`,
      '',
      driftTable(report.drifted),
      '',
    );
  } else {
    lines.push(`Drift of ${report.stackName} (${report.region}): no drifted resources found.`, '');
  }
  lines.push(
    table(
      ['Stack', 'Detection', 'Drifted', 'In sync', 'Not checked', 'Unknown'],
      report.stacks.map((s) => [s.stack, OUTCOME_TEXT[s.outcome], String(s.drifted), String(s.inSync), String(s.notChecked), String(s.unknown)]),
    ),
  );
  const problems = [
    ...report.stacks.filter((s) => s.outcome !== 'complete').map((s) => `  - ${s.stack}: ${OUTCOME_TEXT[s.outcome]}${s.reason ? `: ${s.reason}` : ''}`),
    ...report.unknown.map((u) => `  - ${u.resource} (${u.type}): ${u.reason}`),
  ];
  if (problems.length > 0) lines.push('', 'Not checked this time (fix the cause and run drift again):', ...problems);
  const types = Object.entries(report.notChecked).sort(([a], [b]) => a.localeCompare(b));
  if (types.length > 0) {
    lines.push('', `CloudFormation cannot check drift on: ${types.map(([t, n]) => `${t} (${n})`).join(', ')}.`);
  }
  if (report.explained.length > 0) {
    lines.push(
      '',
      `Not drift: ${report.explained.length} rule(s) CloudFormation reports as added to their security groups are declared by this cluster's own` +
        ` SecurityGroupIngress/Egress resources (e.g. ${report.explained[0]!.declaredBy}); --json lists them.`,
    );
  }
  lines.push('', verdictLine(report));
  return lines.join('\n');
}

function verdictLine(report: DriftReport): string {
  const code = `exit ${report.exitCode}`;
  switch (report.verdict) {
    case 'in-sync':
      return `drift: ${report.stackName}: in sync (${code}).`;
    case 'incomplete':
      return `drift: ${report.stackName}: nothing drifted among what was checked, but not everything could be checked (${code}).`;
    case 'drifted':
      return (
        `drift: ${report.stackName}: DRIFTED (${code}). A deploy keeps the drift of resources whose template it does not change and may overwrite` +
        ` it on those it updates: undo the change where it was made, or put it in the cluster definition (README, "Drift").`
      );
  }
}
