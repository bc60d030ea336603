/**
 * Validation of a cluster definition before anything is written. Every problem is collected, each as
 * `<config path>: got <value>, expected <what>`, so a user fixes them all in one go.
 */
import { nearest } from '../lib/suggest.js';
import { AWS_RESERVED_ADDRESSES, cidrProblem, contains, overlaps, parseCidr, prefixFor, size, type Cidr } from './cidr.js';
import { defineCluster, instanceArchitecture, MASTER_HOST_OFFSET, masterReservation, mastersInAz, type ClusterConfig, type NodeGroupProps } from './config.js';
import { rootDescription } from './root.js';

/** CloudFormation's limit on a template Description (CloudFormation User Guide, "Template format: Description"). */
export const DESCRIPTION_LIMIT = 1024;

/** CloudWatch Logs retention values. */
const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

const INSTANCE_TYPE = /^[a-z][a-z0-9-]*\.[a-z0-9]+$/;
/** An AWS Region code: `eu-west-1`, `us-gov-west-1`, `ap-southeast-4`. */
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
/**
 * An S3 bucket name nodes can fetch from over HTTPS by its virtual-hosted name: 3-63 lowercase letters, digits and
 * dashes, starting and ending with a letter or digit. Dots are legal in S3 but break TLS for virtual-hosted names
 * (Amazon S3 User Guide, "Bucket naming rules").
 */
const BUCKET = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
/** A folder inside the bucket: path segments of letters, digits, `.`, `_` and `-`, no slash at either end. */
const PREFIX = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;
const NAME = /^[a-z][a-z0-9-]{1,22}[a-z0-9]$/;

const show = (v: unknown) => JSON.stringify(v) ?? String(v);

function isInt(v: unknown, min: number, max: number): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/** Returns every problem with `config`; an empty list means it is valid. */
export function validateCluster(config: ClusterConfig): string[] {
  const problems: string[] = [];
  const expect = (path: string, value: unknown, expected: string) => problems.push(`${path}: got ${show(value)}, expected ${expected}`);

  if (typeof config.name !== 'string' || !NAME.test(config.name)) {
    expect('name', config.name, 'lowercase letters, digits and dashes, 3-24 characters, starting with a letter');
  }
  if (typeof config.region !== 'string' || !REGION.test(config.region)) expect('region', config.region, 'an AWS Region code like eu-west-1');
  if (typeof config.bundle.bucket !== 'string' || !BUCKET.test(config.bundle.bucket)) {
    expect('bundle.bucket', config.bundle.bucket, 'an S3 bucket name of 3-63 lowercase letters, digits and dashes, starting and ending with a letter or digit (no dots: nodes fetch it over HTTPS by its virtual-hosted name)');
  }
  if (typeof config.bundle.prefix !== 'string' || !PREFIX.test(config.bundle.prefix)) {
    expect('bundle.prefix', config.bundle.prefix, 'a folder like dcos or dcos/2.2 (letters, digits, ".", "_", "-", no slash at either end)');
  }
  if (![1, 3, 5].includes(config.masters.count)) expect('masters.count', config.masters.count, '1, 3 or 5 (a ZooKeeper quorum)');
  const azs = config.availabilityZones;
  if (!isInt(azs, 1, 3)) {
    expect('availabilityZones', azs, 'a whole number from 1 to 3');
  } else if (config.masters.count >= 3 && azs < 3) {
    expect('availabilityZones', azs, `3 for ${config.masters.count} masters, so that losing one AZ keeps a quorum`);
  }
  checkGroup('masters', config.masters, 1, 5, problems);
  checkGroup('privateAgents', config.privateAgents, 1, 100, problems);
  checkGroup('publicAgents', config.publicAgents, 1, 20, problems);
  if (!isInt(config.masters.stateVolumeGiB, 10, 16384)) expect('masters.stateVolumeGiB', config.masters.stateVolumeGiB, 'a whole number of GiB from 10 to 16384');
  for (const path of ['vpn', 'admin'] as const) {
    if (!INSTANCE_TYPE.test(String(config[path].instanceType))) expect(`${path}.instanceType`, config[path].instanceType, 'an EC2 instance type like t3.small');
  }
  checkArchitectures(config, expect);
  if (!isInt(config.vpn.port, 1, 65535)) expect('vpn.port', config.vpn.port, 'a port from 1 to 65535');
  if (config.vpn.protocol !== 'udp' && config.vpn.protocol !== 'tcp') expect('vpn.protocol', config.vpn.protocol, '"udp" or "tcp"');
  if (!RETENTION_DAYS.includes(config.flowLogRetentionDays) || config.flowLogRetentionDays < 365) {
    expect('flowLogRetentionDays', config.flowLogRetentionDays, `a CloudWatch Logs retention value of at least a year (${RETENTION_DAYS.filter((d) => d >= 365).join(', ')})`);
  }
  checkNetwork(config, expect);
  checkDescription(config, expect);
  return problems;
}

function checkGroup(path: string, group: NodeGroupProps, min: number, max: number, problems: string[]): void {
  if (!isInt(group.count, min, max)) problems.push(`${path}.count: got ${show(group.count)}, expected a whole number from ${min} to ${max}`);
  if (!INSTANCE_TYPE.test(String(group.instanceType))) problems.push(`${path}.instanceType: got ${show(group.instanceType)}, expected an EC2 instance type like m5.xlarge`);
  if (!isInt(group.rootVolumeGiB, 20, 16384)) problems.push(`${path}.rootVolumeGiB: got ${show(group.rootVolumeGiB)}, expected a whole number of GiB from 20 to 16384`);
}

/**
 * DC/OS nodes need x86_64: DC/OS's packages are built for x86_64 only. The VPN gateway and the dcos-cli instance boot
 * one image (GatewayImageId), so their types share one architecture; that image must be of it, which EC2 checks at
 * launch (the image is a deploy-time parameter, unknown here).
 */
function checkArchitectures(config: ClusterConfig, expect: (path: string, value: unknown, expected: string) => void): void {
  const known = (type: unknown): type is string => typeof type === 'string' && INSTANCE_TYPE.test(type);
  for (const path of ['masters', 'privateAgents', 'publicAgents'] as const) {
    const type = config[path].instanceType;
    if (known(type) && instanceArchitecture(type) !== 'x86_64') {
      expect(`${path}.instanceType`, type, `an x86_64 instance type like m6i.xlarge: ${type} is AWS Graviton (arm64), and DC/OS's packages are built for x86_64 only`);
    }
  }
  const vpn = config.vpn.instanceType;
  const admin = config.admin.instanceType;
  if (known(vpn) && known(admin) && instanceArchitecture(vpn) !== instanceArchitecture(admin)) {
    expect('admin.instanceType', admin, `an ${instanceArchitecture(vpn)} instance type like vpn.instanceType ${vpn}: the VPN gateway and the dcos-cli instance boot one image (GatewayImageId), and ${admin} is ${instanceArchitecture(admin)}`);
  }
}

function checkDescription(config: ClusterConfig, expect: (path: string, value: unknown, expected: string) => void): void {
  if (typeof config.description !== 'string') return expect('description', config.description, 'a string');
  // The root template's Description is the description with the cluster's name and shape around it. Tag keys
  // and values the definition reaches (the name, at most 24 characters, in Name and dcos:cluster) stay far
  // inside their 128 and 256 characters.
  // The shape around it counts the nodes: without usable counts its length is not known.
  if (![config.masters.count, config.privateAgents.count, config.publicAgents.count].every(Number.isInteger)) return;
  const overhead = rootDescription(config).length - config.description.length;
  if (overhead + config.description.length > DESCRIPTION_LIMIT) {
    expect('description', `${config.description.slice(0, 40)}...`, `at most ${DESCRIPTION_LIMIT - overhead} characters (CloudFormation's ${DESCRIPTION_LIMIT} for a template Description, less ${overhead} for the name and shape); it has ${config.description.length}`);
  }
}

/** How many addresses each zone's subnet in AZ `az` must hold, and for what (besides AWS's reserved five). */
function demand(config: ClusterConfig, zone: 'public' | 'masterZone' | 'privateAgents' | 'publicAgents', az: number): { count: number; what: string } {
  const azs = config.availabilityZones;
  const spread = (n: number) => Math.ceil((n + 1) / azs); // one spare for rolling updates, groups balanced over AZs
  switch (zone) {
    case 'public': {
      const nat = config.natGatewayPerAz || az === 0 ? 1 : 0;
      const vpn = az === 0 ? 1 : 0;
      return { count: nat + vpn + 1, what: `${[nat ? 'a NAT gateway' : '', vpn ? 'the VPN gateway' : '', 'the public load balancer'].filter(Boolean).join(', ')}` };
    }
    case 'masterZone': {
      const masters = mastersInAz(config, az);
      const reservation = masterReservation(config, az);
      const reserved = reservation ? size(parseCidr(reservation)!) : 0;
      const held = masters ? `the masters' reserved ${reservation} (${masters} master(s))` : '0 masters';
      return { count: reserved + 1 + (az === 0 ? 1 : 0), what: `${held}, the internal load balancer${az === 0 ? ', the dcos-cli instance' : ''}` };
    }
    case 'privateAgents':
      return { count: spread(config.privateAgents.count), what: `${spread(config.privateAgents.count)} private agent(s) (${config.privateAgents.count} + 1 for rolling updates over ${azs} AZ(s))` };
    case 'publicAgents':
      return { count: spread(config.publicAgents.count), what: `${spread(config.publicAgents.count)} public agent(s) (${config.publicAgents.count} + 1 for rolling updates over ${azs} AZ(s))` };
  }
}

function checkNetwork(config: ClusterConfig, expect: (path: string, value: unknown, expected: string) => void): void {
  const vpcProblem = cidrProblem(String(config.vpcCidr));
  const vpc = parseCidr(String(config.vpcCidr));
  if (vpcProblem) {
    expect('vpcCidr', config.vpcCidr, vpcProblem);
  } else if (vpc && (vpc.prefix < 16 || vpc.prefix > 24)) {
    expect('vpcCidr', config.vpcCidr, 'a prefix from /16 to /24 (AWS VPC limits; /16 recommended)');
  }
  const placed: { path: string; cidr: Cidr }[] = [];
  const azs = Number.isInteger(config.availabilityZones) && config.availabilityZones >= 1 && config.availabilityZones <= 3 ? config.availabilityZones : 0;
  const countsValid = [config.masters.count, config.privateAgents.count, config.publicAgents.count].every((n) => Number.isInteger(n) && n > 0);
  for (const zone of ['public', 'masterZone', 'privateAgents', 'publicAgents'] as const) {
    const list = config.subnets[zone];
    // Subnets carved from an invalid VPC range are empty: that is the VPC's problem, reported once above.
    if (Array.isArray(list) && list.length === 0 && vpcProblem) continue;
    if (!Array.isArray(list) || (azs > 0 && list.length !== azs)) {
      expect(`subnets.${zone}`, list, `one CIDR per Availability Zone (${azs || config.availabilityZones})`);
    }
    (Array.isArray(list) ? list : []).forEach((text, i) => {
      const path = `subnets.${zone}[${i}]`;
      const problem = cidrProblem(String(text));
      if (problem) return expect(path, text, problem);
      const cidr = parseCidr(String(text))!;
      if (cidr.prefix > 28) return expect(path, text, 'a prefix of /28 or larger (AWS subnet limit)');
      if (vpc && !contains(vpc, cidr)) return expect(path, text, `a range inside vpcCidr ${config.vpcCidr}`);
      const clash = placed.find((p) => overlaps(p.cidr, cidr));
      if (clash) return expect(path, text, `a range that does not overlap ${clash.path} (${config.subnets[clash.path.split(/[.[]/)[1] as 'public'][Number(/\[(\d+)\]/.exec(clash.path)![1])]})`);
      placed.push({ path, cidr });
      if (azs === 0 || i >= azs || !countsValid) return;
      const { count, what } = demand(config, zone, i);
      const usable = size(cidr) - AWS_RESERVED_ADDRESSES;
      if (usable < count) {
        return expect(path, text, `room for ${what}: ${count} addresses plus AWS's ${AWS_RESERVED_ADDRESSES} reserved, a /${prefixFor(count)} or larger (a /${cidr.prefix} has ${usable} usable)`);
      }
      const lastMaster = MASTER_HOST_OFFSET + Math.ceil(config.masters.count / azs) - 1;
      if (zone === 'masterZone' && lastMaster > size(cidr) - 2) {
        expect(path, text, `room for the masters' fixed addresses from offset ${MASTER_HOST_OFFSET} to ${lastMaster} (the last address is reserved): a /${32 - Math.ceil(Math.log2(lastMaster + 2))} or larger`);
      }
    });
  }
  const pool = parseCidr(String(config.vpn.clientCidr));
  const poolProblem = cidrProblem(String(config.vpn.clientCidr));
  if (poolProblem) {
    expect('vpn.clientCidr', config.vpn.clientCidr, poolProblem);
  } else if (pool && (pool.prefix < 16 || pool.prefix > 29)) {
    expect('vpn.clientCidr', config.vpn.clientCidr, 'a prefix from /16 to /29');
  } else if (vpc && pool && overlaps(vpc, pool)) {
    expect('vpn.clientCidr', config.vpn.clientCidr, `a range outside vpcCidr ${config.vpcCidr} (VPN clients need their own addresses)`);
  }
}

/**
 * The shape of a loaded definition, checked at run time before its values: TypeScript checks a literal
 * passed to `defineCluster`, but not one built in a variable, a cast, or a file that skips `defineCluster`.
 * An unknown key would silently leave a default in place, so each is reported with its path and the nearest
 * known key; a wrong type or a non-finite number (NaN, Infinity) is named as such. The expected shape is the
 * complete config `defineCluster` makes.
 */
export function checkDefinitionShape(value: unknown): string[] {
  return inspectShape(value).problems;
}

/** A definition's shape problems, with the paths whose values are unusable (wrong type, not finite). */
interface Shape {
  readonly problems: string[];
  /** Paths of values of the wrong type or not finite; unknown keys are not among them (they are ignored). */
  readonly broken: string[];
  /** False when the value is no definition at all (not an object, or not made by defineCluster). */
  readonly definition: boolean;
}

function inspectShape(value: unknown): Shape {
  const schema: unknown = defineCluster({ name: 'schema' });
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { problems: [`the default export: got ${describeType(value)}, expected a cluster definition: export default defineCluster({ name: '...', ... })`], broken: [], definition: false };
  }
  const missing = Object.keys(schema as object).filter((k) => !(k in value));
  if (missing.length) {
    return { problems: [`the default export lacks ${missing.join(', ')}: a definition must 'export default defineCluster({...})', which fills in the defaults`], broken: [], definition: false };
  }
  const problems: string[] = [];
  const broken: string[] = [];
  compareShape(value, schema, '', problems, broken);
  return { problems, broken, definition: true };
}

function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (typeof v === 'object') return 'an object';
  return `${typeof v === 'undefined' ? 'nothing' : `a ${typeof v}`}${typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? ` (${show(v)})` : ''}`;
}

function compareShape(value: unknown, expected: unknown, path: string, problems: string[], broken: string[]): void {
  const at = (key: string | number) => (typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key);
  const wrong = (problem: string) => {
    problems.push(`${path}: ${problem}`);
    broken.push(path);
  };
  if (typeof expected === 'number') {
    if (typeof value !== 'number') wrong(`got ${describeType(value)}, expected a number`);
    else if (!Number.isFinite(value)) wrong(`got ${value}, expected a finite number`);
    return;
  }
  if (typeof expected === 'string' || typeof expected === 'boolean') {
    if (typeof value !== typeof expected) wrong(`got ${describeType(value)}, expected a ${typeof expected}`);
    return;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(value)) wrong(`got ${describeType(value)}, expected an array`);
    else value.forEach((v, i) => compareShape(v, expected[0] ?? '', at(i), problems, broken));
    return;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    wrong(`got ${describeType(value)}, expected an object`);
    return;
  }
  const known = Object.keys(expected as object);
  for (const [key, v] of Object.entries(value)) {
    if (!known.includes(key)) {
      const near = nearest(key, known);
      problems.push(`${at(key)}: unknown key${near.length ? ` (did you mean ${near.join(' or ')}?)` : ` (known: ${known.join(', ')})`}; it would be ignored, leaving the default in place`);
    } else {
      compareShape(v, (expected as Record<string, unknown>)[key], at(key), problems, broken);
    }
  }
}

/**
 * Everything wrong with a loaded definition, in one list: its shape problems first, then its value problems
 * (`validateCluster`). The value checks run whenever the value is a definition at all, on a copy in which each
 * unusable value (wrong type, not finite) is left out (an object or array of the wrong type becomes an empty one),
 * and their problems at or under an unusable path are dropped: the shape problem already names it, and a NaN is
 * reported as NaN. The checks that combine values (the AZ rule, subnet sizes) run only on usable inputs.
 */
export function validateDefinition(value: unknown): string[] {
  const shape = inspectShape(value);
  if (!shape.definition) return shape.problems;
  if (shape.broken.length === 0) return [...shape.problems, ...validateCluster(value as ClusterConfig)];
  const under = (path: string) => shape.broken.some((b) => path === b || path.startsWith(`${b}.`) || path.startsWith(`${b}[`));
  const usable = withoutBroken(value, defineCluster({ name: 'schema' }), shape.broken);
  const values = validateCluster(usable as ClusterConfig).filter((p) => !under(p.slice(0, p.indexOf(':'))));
  return [...shape.problems, ...values];
}

/**
 * A copy of `value` in which each broken path holds what the checks can read without crashing: an empty object or
 * array where the schema (`expected`) has one, else undefined.
 */
function withoutBroken(value: unknown, expected: unknown, broken: readonly string[], path = ''): unknown {
  if (path !== '' && broken.includes(path)) return Array.isArray(expected) ? [] : expected !== null && typeof expected === 'object' ? {} : undefined;
  if (Array.isArray(value)) return value.map((v, i) => withoutBroken(v, Array.isArray(expected) ? expected[0] : undefined, broken, `${path}[${i}]`));
  if (value === null || typeof value !== 'object') return value;
  const schema = (expected ?? {}) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutBroken(v, schema[k], broken, path ? `${path}.${k}` : k)]));
}
