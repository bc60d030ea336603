/**
 * The drift part of the preview: for each property that drifted (found by drift detection before the deploy,
 * or reported by a drift-aware change set), whether this deploy would overwrite it or keep it, security-relevant
 * drift first.
 *
 * What CloudFormation does, and this file relies on:
 * - A normal change set compares the new template with the last deployed template, not with the live
 *   resources ("Traditional change sets provide a comparison of your new template with the previous template
 *   for a stack, but do not account for stack drift", User Guide, "Using drift-aware change sets"). So it
 *   updates only resources whose template changed, and "doesn't update the resources of unmodified nested
 *   stacks" (Template Reference, AWS::CloudFormation::Stack). A drifted property it does not change stays
 *   drifted; one it changes is set to the template's value; a replaced resource is built from the template.
 *   Which part of a changed property it rewrites is the resource type's handler's business, so a change to
 *   another part of the same property is "may overwrite", never "kept".
 * - A resource deleted outside CloudFormation cannot be updated: a normal change set that modifies it fails
 *   (and rolls back); a drift-aware one creates it again (AWS DevOps blog, "Safely Handle Configuration Drift
 *   with CloudFormation Drift-Aware Change Sets", 2025-11-19, scenario 3).
 * - A drift-aware change set (`DeploymentMode: REVERT_DRIFT`) "will update the actual state of all stack
 *   resources to match the desired state, even if a resource was not explicitly changed in the template",
 *   except AWS-managed and write-only properties, tag keys the template does not name, immutable properties,
 *   and resource types without the three-way comparison (User Guide, "Considerations"). Each property change
 *   then carries `Drift` (`PreviousValue`, `ActualValue`), `BeforeValueFrom: ACTUAL_STATE` and an
 *   `AttributeChangeType` (`SyncWithActual` when the new template takes the live value); the resource carries
 *   `ResourceDriftStatus` and `ResourceDriftIgnoredAttributes` with their reasons (API reference,
 *   ResourceChange and ResourceTargetDefinition; the guide calls the last one ResourceDriftIgnoredProperties).
 *
 * Property paths are JSON pointers below `Properties`: drift detection's `/SecurityGroupIngress/3`, a change
 * set's `/Properties/SecurityGroupIngress/3` (with IncludePropertyValues) or only the property's `Name`.
 */
import type { ResourceChange, ResourceChangeDetail, StackResourceDrift } from '@aws-sdk/client-cloudformation';
import { isDeepStrictEqual } from 'node:util';
import { securityLabel, topProperty } from '../drift/classify.js';
import { clip, type DriftedResource, type DriftReport } from '../drift/report.js';
import { flattenTree, opaqueStacks, type StackChanges } from './change-set.js';
import type { DriftCheck } from './drift-check.js';

/**
 * What the deploy does to a drifted property: sets it to the template's value (`overwrite`), changes that
 * property in part or a resource CloudFormation gave no details for (`may-overwrite`), leaves it (`kept`), or
 * updates a resource that was deleted outside CloudFormation, which fails (`fails`).
 */
export type DriftFate = 'fails' | 'overwrite' | 'may-overwrite' | 'kept';

export interface DriftItem {
  /** `Network/MasterSecurityGroup`: the stack below the root (`Root` for the root) and the logical ID. */
  readonly resource: string;
  readonly type: string;
  /** Why the drift matters for security (`security-group rules`, `a master`), when it does. */
  readonly security?: string;
  /** Pointer below Properties (`/SecurityGroupIngress/3`); absent for a deleted resource. */
  readonly property?: string;
  /** True when the resource was deleted outside CloudFormation. */
  readonly deleted: boolean;
  /** The live value, as CloudFormation read it. */
  readonly live?: string;
  /** What the deployed template says. */
  readonly previous?: string;
  /** What the new template sets, when CloudFormation said (AfterValue). */
  readonly template?: string;
  readonly fate: DriftFate;
  /** Why, in a few words. */
  readonly why: string;
}

export interface DriftPreview {
  /** The preview's drift section; empty when there is nothing to say (a new stack). */
  readonly text: string;
  /** Security-relevant first, then by fate (fails, overwrite, may overwrite, kept) and resource. */
  readonly items: readonly DriftItem[];
}

const FATE_ORDER: readonly DriftFate[] = ['fails', 'overwrite', 'may-overwrite', 'kept'];
const LABEL: Record<DriftFate, string> = {
  fails: 'would fail on drift',
  overwrite: 'would overwrite drift',
  'may-overwrite': 'may overwrite drift',
  kept: 'drift kept',
};
/** A value CloudFormation resolves only when it executes the change set. */
const KNOWN_AFTER_APPLY = '{{changeSet:KNOWN_AFTER_APPLY}}';
const KEPT_BY_DRIFT_AWARE =
  'the drift-aware change set leaves it: CloudFormation does not revert AWS-managed, write-only or immutable properties, nor resource types without the three-way comparison';
const TAKES_LIVE = 'the new template has the live value: CloudFormation resets the drift status and changes nothing';

/** `/Properties/A/0` → `/A/0`; a path already below Properties is returned as is. */
function belowProperties(path: string): string {
  return path === '/Properties' ? '' : path.startsWith('/Properties/') ? path.slice('/Properties'.length) : path;
}

/** Where a change detail points: its Path, else its property Name (then `exact` is false). */
function detailPointer(detail: ResourceChangeDetail): { readonly pointer: string; readonly exact: boolean } | undefined {
  const target = detail.Target;
  if (target?.Path) return { pointer: belowProperties(target.Path), exact: true };
  if (target?.Attribute === 'Properties' && target.Name) return { pointer: `/${target.Name}`, exact: false };
  if (target?.Attribute === 'Tags') return { pointer: '/Tags', exact: false };
  return undefined;
}

/** `a` is `b`, or one lies inside the other. */
function overlaps(a: string, b: string): boolean {
  return a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);
}

/** How a property the template does not have is shown. */
const ABSENT = '(not in the template)';

/**
 * The value at `pointer` inside a JSON text, as JSON text (a string stays bare): ABSENT when the JSON has no
 * such member, undefined when the text is not JSON (then nothing can be said below its top).
 */
function valueAt(json: string, pointer: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return pointer === '' ? json : undefined;
  }
  for (const raw of pointer.split('/').filter(Boolean)) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (value === null || typeof value !== 'object' || !(key in value)) return ABSENT;
    value = (value as Record<string, unknown>)[key];
  }
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Two values as CloudFormation prints them (JSON text or bare strings) that mean the same. */
function sameValue(a: string, b: string): boolean {
  if (a === b) return true;
  try {
    return isDeepStrictEqual(JSON.parse(a), JSON.parse(b));
  } catch {
    return false;
  }
}

type Fate = Pick<DriftItem, 'fate' | 'why'> & { readonly template?: string };

/** What a change (or its absence) does to one drifted property, or to a deleted resource. */
function fateOf(drift: { readonly property?: string; readonly deleted: boolean; readonly live?: string }, change: ResourceChange | undefined, revert: boolean, stackTouched: boolean): Fate {
  if (!change) {
    if (!stackTouched) return { fate: 'kept', why: revert ? 'the drift-aware change set does not include its stack' : 'this deploy does not change its stack' };
    return { fate: 'kept', why: revert ? KEPT_BY_DRIFT_AWARE : 'this deploy does not change the resource' };
  }
  switch (change.Action) {
    case 'Remove':
      return { fate: 'overwrite', why: 'this deploy removes the resource' };
    case 'Add':
      return { fate: 'overwrite', why: 'this deploy creates it again from the template' };
    case 'SyncWithActual':
      return { fate: 'kept', why: TAKES_LIVE };
    case 'Dynamic':
      return { fate: 'may-overwrite', why: 'CloudFormation cannot tell yet what it will do to the resource' };
    case 'Modify':
      break;
    default:
      return { fate: 'kept', why: `this deploy's action on it is ${change.Action ?? 'unknown'}` };
  }
  if (drift.deleted) {
    return revert
      ? { fate: 'overwrite', why: 'the drift-aware change set creates it again from the template' }
      : { fate: 'fails', why: 'this deploy updates it, and CloudFormation cannot update what no longer exists: the update fails and rolls back (--revert-drift creates it again)' };
  }
  const ignored = (change.ResourceDriftIgnoredAttributes ?? []).find((a) => a.Path && drift.property !== undefined && overlaps(belowProperties(a.Path), drift.property));
  if (ignored) return { fate: 'kept', why: `CloudFormation does not revert this property (${ignored.Reason ?? 'no reason given'})` };
  if (change.Replacement === 'True') return { fate: 'overwrite', why: 'this deploy replaces the resource, building the new one from the template' };
  const details = (change.Details ?? []).filter((d) => detailPointer(d) !== undefined);
  if (details.length === 0) return { fate: 'may-overwrite', why: 'this deploy updates the resource, and CloudFormation gave no property details' };
  if (drift.property === undefined) return { fate: 'may-overwrite', why: 'this deploy updates the resource' };
  const property = drift.property;
  for (const detail of details) {
    const { pointer, exact } = detailPointer(detail)!;
    if (!overlaps(pointer, property) || (!exact && pointer !== property)) continue;
    if (detail.Target?.AttributeChangeType === 'SyncWithActual') return { fate: 'kept', why: TAKES_LIVE };
    const after = detail.Target?.AfterValue;
    const template = after !== undefined && after !== KNOWN_AFTER_APPLY && property.startsWith(pointer) ? valueAt(after, property.slice(pointer.length)) : undefined;
    if (template !== undefined && drift.live !== undefined && sameValue(template, drift.live)) return { fate: 'kept', why: TAKES_LIVE, template };
    return { fate: 'overwrite', why: 'this deploy sets this property', ...(template !== undefined ? { template } : {}) };
  }
  const top = topProperty(property);
  if (details.some((d) => d.Target?.Name === top || (d.Target?.Attribute === 'Tags' && top === 'Tags'))) {
    return { fate: 'may-overwrite', why: `this deploy changes ${top}; whether it rewrites the drifted part depends on the resource type` };
  }
  if (change.Replacement === 'Conditional') return { fate: 'may-overwrite', why: 'this deploy may replace the resource' };
  if (revert) return { fate: 'kept', why: KEPT_BY_DRIFT_AWARE };
  const names = [...new Set(details.map((d) => d.Target?.Name ?? d.Target?.Attribute))].join(', ');
  return { fate: 'kept', why: `this deploy changes ${names} of the resource, not this property` };
}

/** The stacks of the change tree by drift detection's path: `Root`, `Network`, `Network/Inner`. */
function stacksByDriftPath(tree: StackChanges | undefined): Map<string, StackChanges> {
  const byPath = new Map<string, StackChanges>();
  if (!tree) return byPath;
  for (const stack of flattenTree(tree)) byPath.set(stack === tree ? 'Root' : stack.path.slice(tree.path.length + 1), stack);
  return byPath;
}

/**
 * Fates for the nested stacks the change set updates or deletes without a change set to read (opaqueStacks), by drift
 * path: what the deploy does to their drift is unknown.
 */
function opaqueFates(tree: StackChanges | undefined): Map<string, Fate> {
  const fates = new Map<string, Fate>();
  if (!tree) return fates;
  for (const { path, change, why } of opaqueStacks(tree)) {
    if (change.Action === 'Add') continue;
    const nested = path.slice(tree.path.length + 1);
    fates.set(nested, change.Action === 'Remove' ? { fate: 'overwrite', why: `this deploy deletes stack ${nested}` } : { fate: 'may-overwrite', why: `this deploy updates stack ${nested}, and ${why}` });
  }
  return fates;
}

/** Items for what drift detection found. */
function detectedItems(drifted: readonly DriftedResource[], stacks: Map<string, StackChanges>, opaque: Map<string, Fate>, revert: boolean): DriftItem[] {
  return drifted.flatMap((r): DriftItem[] => {
    const stack = stacks.get(r.stack);
    const change = stack?.changes.find((c) => c.LogicalResourceId === r.logicalId);
    const base = { resource: `${r.stack}/${r.logicalId}`, type: r.type, ...(r.security ? { security: r.security } : {}) };
    const fate = (drift: Parameters<typeof fateOf>[0]): Fate => opaque.get(r.stack) ?? fateOf(drift, change, revert, stack !== undefined);
    if (r.status === 'DELETED' || r.properties.length === 0) {
      const deleted = r.status === 'DELETED';
      return [{ ...base, deleted, ...fate({ deleted }) }];
    }
    return r.properties.map((p) => ({
      ...base,
      property: p.path,
      deleted: false,
      live: p.actual,
      previous: p.expected,
      ...fate({ property: p.path, deleted: false, live: p.actual }),
    }));
  });
}

/** The security label of a drift a change set reports, from the resource's properties before the change. */
function securityOfChange(change: ResourceChange, deleted: boolean, property: string | undefined): string | undefined {
  let expected: string | undefined;
  try {
    const before = JSON.parse(change.BeforeContext ?? '{}') as { Properties?: unknown };
    expected = before.Properties === undefined ? undefined : JSON.stringify(before.Properties);
  } catch {
    expected = undefined;
  }
  const drift: StackResourceDrift = {
    StackId: undefined,
    LogicalResourceId: change.LogicalResourceId,
    ResourceType: change.ResourceType,
    StackResourceDriftStatus: deleted ? 'DELETED' : 'MODIFIED',
    Timestamp: undefined,
    ...(expected ? { ExpectedProperties: expected } : {}),
  };
  return securityLabel(drift, property === undefined ? [] : [{ path: property, difference: 'NOT_EQUAL', expected: '', actual: '' }]);
}

/** Items for the drift a drift-aware change set itself reports (its `Drift` details and deleted resources). */
function changeSetItems(stacks: Map<string, StackChanges>): DriftItem[] {
  const items: DriftItem[] = [];
  for (const [path, stack] of stacks) {
    for (const change of stack.changes) {
      if (change.ResourceType === 'AWS::CloudFormation::Stack') continue;
      const base = { resource: `${path}/${change.LogicalResourceId ?? '?'}`, type: change.ResourceType ?? '' };
      if (change.ResourceDriftStatus === 'DELETED') {
        const security = securityOfChange(change, true, undefined);
        items.push({ ...base, ...(security ? { security } : {}), deleted: true, ...fateOf({ deleted: true }, change, true, true) });
        continue;
      }
      for (const detail of change.Details ?? []) {
        const drift = detail.Target?.Drift;
        const at = detailPointer(detail);
        if (!drift || !at) continue;
        const after = detail.Target?.AfterValue;
        const synced = detail.Target?.AttributeChangeType === 'SyncWithActual';
        const template = after !== undefined && after !== KNOWN_AFTER_APPLY ? after : detail.Target?.AttributeChangeType === 'Remove' ? ABSENT : undefined;
        const security = securityOfChange(change, false, at.pointer);
        items.push({
          ...base,
          ...(security ? { security } : {}),
          property: at.pointer,
          deleted: false,
          ...(drift.ActualValue !== undefined ? { live: drift.ActualValue } : detail.Target?.BeforeValue !== undefined ? { live: detail.Target.BeforeValue } : {}),
          ...(drift.PreviousValue !== undefined ? { previous: drift.PreviousValue } : {}),
          ...(template !== undefined ? { template } : {}),
          fate: synced ? 'kept' : 'overwrite',
          why: synced ? TAKES_LIVE : 'the drift-aware change set sets the template value',
        });
      }
    }
  }
  return items;
}

/** Security-relevant first, then by fate and resource. */
function sortItems(items: DriftItem[]): DriftItem[] {
  return items.sort(
    (a, b) =>
      Number(!a.security) - Number(!b.security) ||
      FATE_ORDER.indexOf(a.fate) - FATE_ORDER.indexOf(b.fate) ||
      a.resource.localeCompare(b.resource) ||
      (a.property ?? '').localeCompare(b.property ?? ''),
  );
}

/** Merges detected items with the change set's: the change set's answer wins for the same property. */
function mergeItems(detected: readonly DriftItem[], fromChangeSet: readonly DriftItem[]): DriftItem[] {
  const key = (i: DriftItem) => `${i.resource}|${i.property ?? ''}`;
  const merged = new Map(detected.map((i) => [key(i), i]));
  for (const item of fromChangeSet) {
    const known = merged.get(key(item));
    const previous = item.previous ?? known?.previous;
    merged.set(key(item), known ? { ...known, ...item, ...(known.security ? { security: known.security } : {}), ...(previous !== undefined ? { previous } : {}) } : item);
  }
  return [...merged.values()];
}

function formatItem(item: DriftItem): string {
  const security = item.security ? ` [security: ${item.security}]` : '';
  if (item.deleted) return `${LABEL[item.fate]}: ${item.resource} (${item.type})${security} was deleted outside CloudFormation; ${item.why}`;
  const what = item.property === undefined ? `${item.resource} (${item.type})` : `${item.resource} ${item.property}`;
  const values: string[] = [];
  if (item.live !== undefined) values.push(`live ${clip(item.live)}`);
  if (item.fate === 'kept' || item.fate === 'may-overwrite') {
    const template = item.template ?? item.previous;
    if (template !== undefined) values.push(`template ${clip(template)}`);
  } else {
    const after =
      item.template === ABSENT
        ? 'removed (not in the template)'
        : `template ${item.template !== undefined ? clip(item.template) : `value${item.previous !== undefined ? ` (it was ${clip(item.previous)})` : ''}`}`;
    values.push(`${values.pop() ?? 'live'} → ${after}`);
  }
  return `${LABEL[item.fate]}: ${what}${security}${values.length ? `: ${values.join(', ')}` : ''} (${item.why})`;
}

/** What could not be checked this time, from the report. */
function notChecked(report: DriftReport): string[] {
  return [
    ...report.stacks.filter((s) => s.outcome !== 'complete').map((s) => `${s.stack}: ${s.outcome}${s.reason ? `: ${s.reason}` : ''}`),
    ...report.unknown.map((u) => `${u.resource} (${u.type}): ${u.reason}`),
  ];
}

const NORMAL_MODE =
  'A change set compares the new templates with the deployed ones, not with the live resources: CloudFormation changes only what the templates change, ' +
  "sets those properties to the template's value, and leaves all other drift in place.";
const REVERT_MODE =
  "This is a drift-aware change set (--revert-drift): CloudFormation compares the templates with the live resources and sets drifted properties to the template's values, except where it says it cannot.";

/**
 * The drift section of the preview. `tree` is the change set (undefined when CloudFormation found no changes:
 * everything is kept); a drift-aware tree (DeploymentMode REVERT_DRIFT) adds the drift it reports itself.
 */
export function renderDriftPreview(check: DriftCheck, tree: StackChanges | undefined): DriftPreview {
  const revert = tree?.deploymentMode === 'REVERT_DRIFT';
  const stacks = stacksByDriftPath(tree);
  if (check.kind === 'skipped' && !revert) return { text: check.why ? `Drift: ${check.why}` : '', items: [] };
  const detected = check.kind === 'checked' ? detectedItems(check.report.drifted, stacks, opaqueFates(tree), revert) : [];
  const items = sortItems(revert ? mergeItems(detected, changeSetItems(stacks)) : detected);
  const lines: string[] = [];
  if (check.kind === 'checked') {
    const resources = new Set(items.map((i) => i.resource));
    const security = new Set(items.filter((i) => i.security).map((i) => i.resource));
    const on = `drift detection on ${check.report.stacks.length} stack(s)`;
    lines.push(
      resources.size
        ? `Drift: ${resources.size} resource(s) changed outside CloudFormation, ${security.size} security-relevant (${on}).`
        : check.report.verdict === 'in-sync'
          ? `Drift: none (${on}).`
          : `Drift: none found among what could be checked (${on}).`,
    );
    const missed = notChecked(check.report);
    if (missed.length) lines.push(`  Not checked this time: ${missed.join('; ')}.`);
  } else if (check.kind === 'not-checked') {
    lines.push(`Drift: could not be checked: ${check.reason}`, '  The deploy goes on without knowing which drifted properties it would overwrite (--no-drift-check skips this step).');
  } else {
    lines.push('Drift: not detected before the deploy (--no-drift-check); the drift-aware change set reports what it reverts.');
  }
  if (items.length === 0 && !revert) return { text: lines.join('\n'), items };
  lines.push(`  ${revert ? REVERT_MODE : NORMAL_MODE}`);
  for (const item of items) lines.push(`  ${item.security ? '!' : '*'} ${formatItem(item)}`);
  const count = (fate: DriftFate) => items.filter((i) => i.fate === fate).length;
  const parts = [`would overwrite ${count('overwrite')}`, `keeps ${count('kept')}`];
  if (count('may-overwrite')) parts.splice(1, 0, `may overwrite ${count('may-overwrite')}`);
  if (count('fails')) parts.unshift(`would fail on ${count('fails')}`);
  if (items.length) lines.push(`  This deploy ${parts.join(', ')} of ${items.length} drifted propert${items.length === 1 ? 'y' : 'ies'}.`);
  if (items.some((i) => i.security && i.fate !== 'kept')) {
    lines.push('  Security-relevant drift would be overwritten: if it was an incident fix, put it in the cluster definition first.');
  }
  if (items.some((i) => i.security && i.fate === 'kept')) {
    lines.push(`  Security-relevant drift is kept: undo it where it was made${revert ? '' : ", or deploy with --revert-drift and check with 'npm run drift'"} (README, Drift).`);
  }
  return { text: lines.join('\n'), items };
}
