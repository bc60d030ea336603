/** A policy finding: one rule broken by one resource (or parameter or output) of the set. */
import type { ResourceLocation } from './exposure.js';
import type { Stack, TemplateSet } from './load.js';
import type { NetworkModel } from './model.js';
import type { ResourceRef } from './resolve.js';

export interface Finding extends ResourceLocation {
  /** Rule ID: `CT.EC2.PR.13` for the Control Tower pack, `DCOS.EC2.1` for ours. */
  readonly rule: string;
  /** cfn-guard's rule name for Control Tower rules (what `Metadata.guard.SuppressedRules` lists). */
  readonly guardRule?: string;
  /** What the rule requires, one line. */
  readonly title: string;
  /** What is wrong here and how to fix it. */
  readonly message: string;
}

/** Where a resource of the set is, for findings and reports. */
export function locate(ref: ResourceRef): ResourceLocation {
  return { stack: ref.stack.name, file: ref.stack.file, resource: ref.id };
}

/** Findings in a stable order: by rule, stack, resource. */
export function sortFindings<T extends Finding>(findings: readonly T[]): T[] {
  return [...findings].sort((a, b) => a.rule.localeCompare(b.rule, 'en', { numeric: true }) || a.stack.localeCompare(b.stack) || a.resource.localeCompare(b.resource));
}

/** `Map.groupBy` (Node 21+) for Node 20: items by key, in first-seen order. */
export function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) groups.set(key(item), [...(groups.get(key(item)) ?? []), item]);
  return groups;
}

/** One of our rules: an ID, what it requires, and the check over a set and its network model. */
export interface Rule {
  /** `DCOS.<AREA>.<n>`. */
  readonly id: string;
  /** What the rule requires, one line. */
  readonly title: string;
  readonly check: (set: TemplateSet, network: NetworkModel) => Finding[];
}

/** A finding on a resource (or `Parameters.X`, `Outputs.X`) of a stack. */
export function stackFinding(rule: Pick<Rule, 'id' | 'title'>, stack: Stack, resource: string, message: string): Finding {
  return { rule: rule.id, title: rule.title, stack: stack.name, file: stack.file, resource, message };
}
