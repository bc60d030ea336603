/**
 * Small assertion helpers over synthesized templates, in the spirit of aws-cdk-lib `assertions`
 * (`resourcesOfType`, `hasResourceProperties`), on plain long-form objects.
 */
import assert from 'node:assert/strict';
import { compile, type Compiled } from '../../lib/synth.js';
import type { ClusterConfig } from '../../stacks/config.js';
import defaultCluster from '../../stacks/clusters/default.js';
import haCluster from '../../stacks/clusters/ha.js';

export type Json = Record<string, any>;

export interface ClusterTemplates {
  readonly compiled: Compiled;
  /** Plain long-form objects by stack id: Root, Network, MasterZone, Agents, Vpn. */
  readonly stacks: Record<string, Json>;
}

/** Compiles a cluster and returns each template as the plain object its YAML stands for. */
export function synthesize(config: ClusterConfig): ClusterTemplates {
  const compiled = compile(config);
  const stacks: Record<string, Json> = {};
  for (const t of [compiled.root, ...compiled.children]) stacks[t.id] = JSON.parse(JSON.stringify(t.template)) as Json;
  return { compiled, stacks };
}

export const DEFINITIONS: Record<string, ClusterConfig> = { default: defaultCluster, ha: haCluster };

/** `[logicalId, resource]` pairs of one type. */
export function resourcesOfType(template: Json, type: string): [string, Json][] {
  return Object.entries(template.Resources as Record<string, Json>).filter(([, r]) => r.Type === type);
}

/** Every resource of every stack, with its stack id. */
export function allResources(stacks: Record<string, Json>): { stack: string; id: string; resource: Json }[] {
  return Object.entries(stacks).flatMap(([stack, t]) =>
    Object.entries(t.Resources as Record<string, Json>).map(([id, resource]) => ({ stack, id, resource })),
  );
}

/** True when `actual` contains everything in `expected` (objects compared key by key, arrays element-wise). */
export function matches(actual: unknown, expected: unknown): boolean {
  if (expected === null || typeof expected !== 'object') return actual === expected;
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && expected.length === actual.length && expected.every((e, i) => matches(actual[i], e));
  }
  if (actual === null || typeof actual !== 'object') return false;
  return Object.entries(expected).every(([k, v]) => matches((actual as Json)[k], v));
}

/** Asserts that some resource of `type` has properties matching `expected`. */
export function hasResourceProperties(template: Json, type: string, expected: Json): void {
  const candidates = resourcesOfType(template, type);
  assert.ok(
    candidates.some(([, r]) => matches(r.Properties, expected)),
    `no ${type} matches ${JSON.stringify(expected)}; found ${candidates.map(([id]) => id).join(', ') || 'none'}`,
  );
}

/** Every string in a value, including those inside intrinsics. */
export function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => strings(v, out));
  else if (value !== null && typeof value === 'object') Object.values(value).forEach((v) => strings(v, out));
  return out;
}
