/**
 * What deploy's data gate and the stack policies guard: the types that hold data (lib/stateful.ts, the list the
 * audit's retention rule uses too), plus the gate's own additions: the VPC and subnets, which hold no data but
 * whose replacement replaces every instance in them, and masters and the VPN gateway (its CA) by their role.
 */
import { DATA_TYPES } from '../stateful.js';
import { taggedRole } from '../template.js';
import type { Template, TemplateResource } from './templates.js';

/**
 * The gate's additions by type: not retained by the audit (a retained VPC would outlive its stack, empty), but
 * replacing one replaces the masters, agents and gateway in it.
 */
const CARRIER_TYPES: Readonly<Record<string, string>> = {
  'AWS::EC2::VPC': 'the VPC',
  'AWS::EC2::Subnet': 'a subnet',
};

/** Resource types that are stateful whatever their properties, with what they hold: DATA_TYPES and CARRIER_TYPES. */
export const STATEFUL_TYPES: Readonly<Record<string, string>> = {
  ...Object.fromEntries(Object.entries(DATA_TYPES).map(([type, { holds }]) => [type, holds])),
  ...CARRIER_TYPES,
};

/** What a master instance holds, as `statefulKind` names it. */
export const MASTER_KIND = 'a master instance';

/** Instances that hold data by their DC/OS role, with what they hold. */
const STATEFUL_ROLES: Readonly<Record<string, string>> = {
  master: MASTER_KIND,
  vpn: "the VPN gateway (its certificate authority signs every client profile)",
};

/** What a stateful resource holds ("a log group", "a master instance"), or undefined for a stateless one. */
export function statefulKind(resource: TemplateResource): string | undefined {
  if (resource === null || typeof resource !== 'object') return undefined;
  if (resource.Type === 'AWS::EC2::Instance') return STATEFUL_ROLES[taggedRole(resource.Properties?.['Tags']) ?? ''];
  return STATEFUL_TYPES[resource.Type];
}

/** Stateful resources of a template by logical ID, with what they hold. */
export function statefulResources(template: Template): Map<string, string> {
  const found = new Map<string, string>();
  for (const [id, resource] of Object.entries(template.Resources ?? {})) {
    const kind = statefulKind(resource);
    if (kind) found.set(id, kind);
  }
  return found;
}
