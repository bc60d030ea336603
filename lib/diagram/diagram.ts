/**
 * `npm run diagram`: the synthesized templates, as the audit loads them, drawn as one SVG.
 * Reads only the template folder; the picture is a function of the templates' bytes.
 */
import { basename } from 'node:path';
import { loadTemplateSet } from '../audit/load.js';
import { toDot } from './dot.js';
import { describeArchitecture, type Architecture } from './model.js';
import { renderSvg } from './render.js';

export interface Diagram {
  readonly architecture: Architecture;
  readonly dot: string;
  readonly svg: string;
}

/** The title: the root template's cluster name (its `dcos:cluster` tag) and the AZ count. */
function titleOf(arch: Omit<Architecture, 'title'>, name: string): string {
  const zones = Math.max(0, ...arch.vpcs.map((v) => v.zones.length));
  return `DC/OS cluster ${name} on AWS · ${zones} Availability Zone${zones === 1 ? '' : 's'}`;
}

/** Draws the template set in `dir` (a folder with manifest.json, as synth writes it, or template files). */
export async function drawTemplateSet(dir: string): Promise<Diagram> {
  const set = loadTemplateSet([dir]);
  const untitled = describeArchitecture(set, '');
  const name = clusterName(set.roots[0]?.template.Resources) ?? basename(set.roots[0]?.file ?? dir);
  const architecture = { ...untitled, title: titleOf(untitled, name) };
  const dot = toDot(architecture);
  return { architecture, dot, svg: await renderSvg(dot) };
}

/** The `dcos:cluster` tag the root puts on its nested stacks. */
function clusterName(resources: Record<string, { readonly Properties?: Record<string, unknown> }> | undefined): string | undefined {
  for (const r of Object.values(resources ?? {})) {
    const tags = r.Properties?.['Tags'];
    const tag = Array.isArray(tags) ? (tags as Record<string, unknown>[]).find((t) => t['Key'] === 'dcos:cluster') : undefined;
    if (typeof tag?.['Value'] === 'string') return tag['Value'];
  }
  return undefined;
}
