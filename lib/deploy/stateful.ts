/**
 * Which resources hold data: masters and their volumes, the VPN gateway (its CA), buckets, log groups,
 * keys, the VPC and subnets. Deploy's data gate and the stack policies both start from this list.
 */
import { taggedRole } from '../template.js';
import type { Template, TemplateResource } from './templates.js';

/** Resource types that are stateful whatever their properties, with what they hold. */
export const STATEFUL_TYPES: Readonly<Record<string, string>> = {
  'AWS::EC2::Volume': 'an EBS volume',
  'AWS::S3::Bucket': 'an S3 bucket',
  'AWS::Logs::LogGroup': 'a log group',
  'AWS::KMS::Key': 'a KMS key',
  'AWS::EC2::VPC': 'the VPC',
  'AWS::EC2::Subnet': 'a subnet',
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
