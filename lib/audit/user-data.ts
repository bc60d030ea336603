/**
 * EC2's user-data limit (DCOS.EC2.6): "User data is limited to 16 KB, in raw form, before it is base64-encoded"
 * (Amazon EC2 User Guide, "Work with instance user data"). CloudFormation does not check it: an instance,
 * launch template or launch configuration over it fails when EC2 launches it, in the middle of a deploy.
 *
 * `Fn::Sub`, `Fn::Join` and `Ref` fill values in at deploy time, so the size is bounded from above: every
 * literal byte, plus every deploy-time value at the longest it can be:
 * - a parameter: its longest `AllowedValues` entry; else `MaxLength` characters at 4 bytes each (UTF-8), at
 *   most CloudFormation's 4,096-byte limit on a parameter value ("AWS CloudFormation quotas"); else that limit;
 *   a Parameter Store type 8 KB (the largest, advanced, parameter); the value the parent stack passes when that
 *   is shorter;
 * - a pseudo parameter: `AWS::StackName` 128 (the quota), `AWS::AccountId` 12, `AWS::StackId` the ARN those
 *   make, and `AWS::Region` 32, `AWS::Partition` 16, `AWS::URLSuffix` 32 (no maximum is documented; the
 *   longest today are 14, 10 and 16 characters);
 * - a resource's `Ref` or attribute: the longest its documented form allows where listed below (IDs,
 *   addresses, bucket and role names, DNS names, some ARNs), a nested stack's output followed to its value,
 *   otherwise 2,048 bytes (the longest ARN IAM accepts), which is an assumption and is named as one;
 * - `Fn::If` the longer branch, `Fn::Select` and `Fn::FindInMap` the longest value they can pick.
 * What cannot be bounded (`Fn::ImportValue`, a computed `Fn::Sub` string) makes the size unbounded: the rule
 * fails closed. A name that is no parameter, resource or output adds nothing: CloudFormation rejects that template.
 */
import { stackFinding, type Finding, type Rule } from './finding.js';
import type { Resource, Stack, TemplateSet } from './load.js';

/**
 * EC2's limit on user data: 16 KB (16,384 bytes) of raw data, before base64 encoding (Amazon EC2 User Guide, "Run
 * commands when you launch an EC2 instance with user data input": "user data is limited to 16 KB, in raw form,
 * before it is base64-encoded"). The one place this project states it: the audit, synth and the tests read it here.
 */
export const USER_DATA_LIMIT = 16_384;

/** CloudFormation's limit on a parameter value, in bytes ("AWS CloudFormation quotas"). */
const PARAMETER_VALUE_BYTES = 4_096;
/** The largest Parameter Store value (advanced tier), in bytes. */
const SSM_VALUE_BYTES = 8_192;
/** Bytes a character can take in UTF-8. */
const UTF8_MAX_BYTES = 4;
/** What a resource value not listed below is assumed to be at most: the longest ARN IAM accepts. */
const ASSUMED_VALUE_BYTES = 2_048;

const PARTITION = 16;
const REGION = 32;
const ACCOUNT = 12;
const STACK_NAME = 128;
/** `arn:<partition>:<service>:<region>:<account>:` for a service name of `service` characters. */
const arnPrefix = (service: number) => 4 + PARTITION + 1 + service + 1 + REGION + 1 + ACCOUNT + 1;

const PSEUDO_BYTES: Readonly<Record<string, number>> = {
  'AWS::AccountId': ACCOUNT,
  'AWS::Region': REGION,
  'AWS::Partition': PARTITION,
  'AWS::URLSuffix': 32,
  'AWS::StackName': STACK_NAME,
  // arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<UUID>
  'AWS::StackId': arnPrefix(14) + 6 + STACK_NAME + 1 + 36,
};

/** `Ref` of a resource, by type: its physical ID's longest form. */
const REF_BYTES: Readonly<Record<string, number>> = {
  'AWS::EC2::Instance': 19, // i- and 17 hex digits
  'AWS::EC2::Volume': 21, // vol- and 17
  'AWS::EC2::NetworkInterface': 21, // eni- and 17
  'AWS::EC2::VPC': 21,
  'AWS::EC2::Subnet': 24,
  'AWS::EC2::SecurityGroup': 255, // the group ID, or a default-VPC group's name (up to 255 characters)
  'AWS::EC2::EIP': 15, // the IPv4 address
  'AWS::S3::Bucket': 63, // bucket names are 3 to 63 characters
  'AWS::IAM::Role': 64,
  'AWS::IAM::User': 64,
  'AWS::IAM::InstanceProfile': 128,
  'AWS::KMS::Key': 36, // the key ID: a UUID, or mrk- and 32 hex digits
  'AWS::ElasticLoadBalancing::LoadBalancer': 32,
  'AWS::Logs::LogGroup': 512,
};

/** `Fn::GetAtt`, by `Type.Attribute` or by attribute alone. */
const ATTRIBUTE_BYTES: Readonly<Record<string, number>> = {
  'AWS::KMS::Key.Arn': arnPrefix(3) + 4 + 36, // ...:key/<key ID>
  'AWS::KMS::Key.KeyId': 36,
  'AWS::S3::Bucket.Arn': 4 + PARTITION + 6 + 63, // arn:<partition>:s3:::<bucket>
  'AWS::IAM::Role.Arn': arnPrefix(3) + 5 + 512 + 64, // ...:role<path up to 512><name>
  'AWS::EC2::EIP.AllocationId': 26, // eipalloc- and 17
  DNSName: 253, // a DNS name (RFC 1035)
  PrivateDnsName: 253,
  PublicDnsName: 253,
  PrivateIp: 15,
  PublicIp: 15,
};

/** One deploy-time value counted at its longest: `parameter DcosInstallerUrl`, its bytes, and why that many where it is not plain. */
interface Term {
  readonly what: string;
  readonly bytes: number;
  readonly why?: string;
}

/** An upper bound on a value's UTF-8 bytes, and the deploy-time values in it (none: the size is exact). */
interface Bound {
  readonly bytes: number;
  readonly terms: readonly Term[];
}

const MAX_DEPTH = 64;

const literal = (text: string): Bound => ({ bytes: Buffer.byteLength(text), terms: [] });
const term = (what: string, bytes: number, why?: string): Bound => ({ bytes, terms: [{ what, bytes, ...(why ? { why } : {}) }] });
const unbounded = (what: string, why: string): Bound => term(what, Infinity, why);
const sum = (bounds: readonly Bound[]): Bound => ({ bytes: bounds.reduce((n, b) => n + b.bytes, 0), terms: bounds.flatMap((b) => b.terms) });
const longest = (bounds: readonly Bound[]): Bound => bounds.reduce((a, b) => (b.bytes > a.bytes ? b : a), literal(''));
/** The same bound, counted `factor` times per byte (a joined list whose commas become a longer delimiter). */
const scaled = (b: Bound, factor: number): Bound => (factor <= 1 ? b : { bytes: b.bytes * factor, terms: b.terms.map((t) => ({ ...t, bytes: t.bytes * factor })) });

function parameterBound(stack: Stack, name: string, depth: number): Bound {
  const p = stack.template.Parameters![name]!;
  const allowed = Array.isArray(p.AllowedValues) ? p.AllowedValues.map((v) => Buffer.byteLength(String(v))) : [];
  const maxLength = Number(p.MaxLength);
  const own =
    allowed.length > 0
      ? term(`parameter ${name}`, Math.max(...allowed), 'its longest AllowedValues entry')
      : p.Type?.startsWith('AWS::SSM::Parameter::Value')
        ? term(`parameter ${name}`, SSM_VALUE_BYTES, 'the largest Parameter Store value')
        : Number.isFinite(maxLength) && maxLength * UTF8_MAX_BYTES < PARAMETER_VALUE_BYTES
          ? term(`parameter ${name}`, maxLength * UTF8_MAX_BYTES, `MaxLength ${maxLength} characters, up to ${UTF8_MAX_BYTES} bytes each`)
          : term(`parameter ${name}`, PARAMETER_VALUE_BYTES, Number.isFinite(maxLength) ? `CloudFormation's limit on a parameter value` : `no MaxLength, so CloudFormation's limit on a parameter value`);
  const passed = (stack.parent?.stack.template.Resources[stack.parent.logicalId]?.Properties?.['Parameters'] as Record<string, unknown> | undefined)?.[name];
  if (passed === undefined) return own;
  const fromParent = boundOf(stack.parent!.stack, passed, depth + 1);
  return fromParent.bytes < own.bytes ? fromParent : own;
}

function refBound(stack: Stack, name: string, depth: number): Bound {
  if (name in PSEUDO_BYTES) return term(name, PSEUDO_BYTES[name]!);
  if (stack.template.Parameters?.[name]) return parameterBound(stack, name, depth);
  const resource = stack.template.Resources[name];
  // CloudFormation rejects a template that names nothing (and synth's wiring check says so): no size to add.
  if (!resource) return literal('');
  const bytes = REF_BYTES[resource.Type];
  return bytes === undefined
    ? term(`Ref ${name}`, ASSUMED_VALUE_BYTES, `${resource.Type} values are assumed no longer than an ARN`)
    : term(`Ref ${name}`, bytes);
}

function getAttBound(stack: Stack, id: string, attribute: string, depth: number): Bound {
  const child = stack.children.get(id);
  if (child && attribute.startsWith('Outputs.')) {
    const output = child.template.Outputs?.[attribute.slice('Outputs.'.length)];
    return output ? boundOf(child, output.Value, depth + 1) : literal('');
  }
  const type = stack.template.Resources[id]?.Type;
  const bytes = ATTRIBUTE_BYTES[`${type}.${attribute}`] ?? ATTRIBUTE_BYTES[attribute];
  return bytes === undefined
    ? term(`${id}.${attribute}`, ASSUMED_VALUE_BYTES, 'assumed no longer than an ARN')
    : term(`${id}.${attribute}`, bytes);
}

function subBound(stack: Stack, arg: unknown, depth: number): Bound {
  const [text, vars] = typeof arg === 'string' ? [arg, {}] : Array.isArray(arg) ? [arg[0], (arg[1] ?? {}) as Record<string, unknown>] : [undefined, {}];
  if (typeof text !== 'string') return unbounded('Fn::Sub', 'its string is computed');
  let plain = '';
  let last = 0;
  const parts: Bound[] = [];
  for (const m of text.matchAll(/\$\{([^}]*)\}/g)) {
    plain += text.slice(last, m.index);
    last = m.index + m[0].length;
    const name = m[1]!.trim();
    if (name.startsWith('!')) plain += `\${${m[1]!.slice(m[1]!.indexOf('!') + 1)}}`;
    else if (name in vars) parts.push(boundOf(stack, vars[name], depth + 1));
    else if (name.includes('.') && !name.startsWith('AWS::')) parts.push(getAttBound(stack, name.slice(0, name.indexOf('.')), name.slice(name.indexOf('.') + 1), depth + 1));
    else parts.push(refBound(stack, name, depth + 1));
  }
  return sum([literal(plain + text.slice(last)), ...parts]);
}

/** Candidate values of `Fn::FindInMap`: the one its literal keys name, or every value a computed key can pick. */
function mappingValues(stack: Stack, args: readonly unknown[]): unknown[] {
  const [map, first, second] = args;
  const mapping = typeof map === 'string' ? stack.template.Mappings?.[map] : undefined;
  if (!mapping) return [];
  const level1 = typeof first === 'string' ? [mapping[first] ?? {}] : Object.values(mapping);
  return level1.flatMap((entries) => (typeof second === 'string' ? [entries[second]] : Object.values(entries))).filter((v) => v !== undefined);
}

/** An upper bound on the UTF-8 bytes of a template value once CloudFormation has resolved it. */
function boundOf(stack: Stack, value: unknown, depth = 0): Bound {
  if (depth > MAX_DEPTH) return unbounded('a value', 'references nest too deep');
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return literal(String(value));
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return unbounded('a value', 'it is not a string');
  const [name, ...more] = Object.keys(value);
  const arg = (value as Record<string, unknown>)[name!];
  const args = Array.isArray(arg) ? arg : [arg];
  if (more.length > 0) return unbounded('a value', 'it is not a string');
  switch (name) {
    case 'Ref':
      return refBound(stack, String(arg), depth);
    case 'Fn::GetAtt': {
      const [id, attribute] = typeof arg === 'string' ? [arg.slice(0, arg.indexOf('.')), arg.slice(arg.indexOf('.') + 1)] : args;
      return typeof id === 'string' && typeof attribute === 'string' ? getAttBound(stack, id, attribute, depth) : unbounded('Fn::GetAtt', 'its arguments are computed');
    }
    case 'Fn::Sub':
      return subBound(stack, arg, depth);
    case 'Fn::Join': {
      const delimiter = Buffer.byteLength(String(args[0] ?? ''));
      const list = args[1];
      if (Array.isArray(list)) return sum([...list.map((v) => boundOf(stack, v, depth + 1)), { bytes: delimiter * Math.max(0, list.length - 1), terms: [] }]);
      // A list parameter's value is its items joined by commas: a longer delimiter makes it longer.
      return scaled(boundOf(stack, list, depth + 1), Math.max(1, delimiter));
    }
    case 'Fn::If':
      return longest([boundOf(stack, args[1], depth + 1), boundOf(stack, args[2], depth + 1)]);
    case 'Fn::Select': {
      const list = args[1];
      if (Array.isArray(list)) return typeof args[0] === 'number' || typeof args[0] === 'string' ? boundOf(stack, list[Number(args[0])], depth + 1) : longest(list.map((v) => boundOf(stack, v, depth + 1)));
      // One item is no longer than the whole list.
      return boundOf(stack, list, depth + 1);
    }
    case 'Fn::FindInMap': {
      const values = mappingValues(stack, args);
      return values.length === 0 ? unbounded('Fn::FindInMap', 'the mapping is not in the template') : longest(values.map((v) => boundOf(stack, v, depth + 1)));
    }
    case 'Fn::Base64': {
      const inner = boundOf(stack, arg, depth + 1);
      return { ...inner, bytes: Math.ceil(inner.bytes / 3) * 4 };
    }
    default:
      return unbounded(String(name), 'its value is known only at deploy time and has no documented maximum');
  }
}

/** A resource's user data as written: an instance's or launch configuration's, or a launch template's. */
export function userDataOf(resource: Resource): unknown {
  const props = resource.Properties ?? {};
  return props['UserData'] ?? (props['LaunchTemplateData'] as Record<string, unknown> | undefined)?.['UserData'];
}

/** User data's size before base64 encoding: the text inside `Fn::Base64`, or a base64 value decoded. */
function rawBound(stack: Stack, userData: unknown): Bound {
  const o = userData as Record<string, unknown>;
  if (userData !== null && typeof userData === 'object' && 'Fn::Base64' in o && Object.keys(o).length === 1) return boundOf(stack, o['Fn::Base64']);
  if (typeof userData === 'string') return { bytes: Buffer.from(userData, 'base64').length, terms: [] };
  const encoded = boundOf(stack, userData);
  return { ...encoded, bytes: Math.floor((encoded.bytes * 3) / 4) };
}

const fmt = (n: number) => n.toLocaleString('en-US');

/** `2 × parameter DcosInstallerUrl (4,096 bytes: no MaxLength, ...)`, the costliest values first. */
function describeTerms(terms: readonly Term[]): string {
  const byWhat = new Map<string, { term: Term; count: number }>();
  for (const t of terms) {
    const seen = byWhat.get(t.what);
    byWhat.set(t.what, { term: seen && seen.term.bytes >= t.bytes ? seen.term : t, count: (seen?.count ?? 0) + 1 });
  }
  const sorted = [...byWhat.values()].sort((a, b) => b.term.bytes * b.count - a.term.bytes * a.count);
  const size = (t: Term) => (Number.isFinite(t.bytes) ? `${fmt(t.bytes)} bytes${t.why ? `: ${t.why}` : ''}` : t.why);
  const shown = sorted.slice(0, 3).map(({ term: t, count }) => `${count > 1 ? `${count} × ` : ''}${t.what} (${size(t)})`);
  const rest = sorted.length - shown.length;
  return rest > 0 ? `${shown.join(', ')} and ${rest} more value${rest > 1 ? 's' : ''}` : shown.join(', ');
}

/** The size of one resource's user data against the limit: `undefined` when it fits at its longest. */
function overLimit(stack: Stack, userData: unknown): string | undefined {
  const bound = rawBound(stack, userData);
  if (bound.bytes <= USER_DATA_LIMIT) return undefined;
  const text = bound.bytes - bound.terms.reduce((n, t) => n + t.bytes, 0);
  const fix = 'shorten the program (fetch the rest at boot), or give its parameters a MaxLength';
  if (bound.terms.length === 0) return `is ${fmt(bound.bytes)} bytes before base64 encoding, over EC2's limit of ${fmt(USER_DATA_LIMIT)}; ${fix}`;
  const size = Number.isFinite(bound.bytes) ? `may reach ${fmt(bound.bytes)} bytes before base64 encoding` : 'has no upper bound on its size';
  return `${size}, over EC2's limit of ${fmt(USER_DATA_LIMIT)}: ${Number.isFinite(text) ? `${fmt(text)} bytes of text plus, at their longest, ` : 'at their longest, '}${describeTerms(bound.terms)}; ${fix}`;
}

/** Every instance, launch template and launch configuration whose user data may exceed EC2's limit. */
export function oversizedUserData(set: TemplateSet): Finding[] {
  return set.stacks.flatMap((stack) =>
    Object.entries(stack.template.Resources).flatMap(([id, resource]) => {
      const userData = userDataOf(resource);
      const problem = userData === undefined ? undefined : overLimit(stack, userData);
      return problem === undefined ? [] : [stackFinding(userDataFits, stack, id, `user data ${problem}`)];
    }),
  );
}

const userDataFits: Rule = {
  id: 'DCOS.EC2.6',
  title: "User data fits EC2's 16 KB limit (16,384 bytes before base64), with every deploy-time value at its longest",
  check: (set) => oversizedUserData(set),
};

/** The rules of this file. */
export const USER_DATA_RULES: readonly Rule[] = [userDataFits];
