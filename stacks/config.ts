/**
 * The typed cluster definition. A definition file under `stacks/clusters/` calls `defineCluster` with what
 * differs from the defaults; everything else is filled in here, so the stack functions see a complete,
 * readonly `ClusterConfig`.
 */
import { formatCidr, hostAddress, parseCidr, subnet } from './cidr.js';

export interface NodeGroupProps {
  /** How many nodes. */
  readonly count: number;
  /**
   * EC2 instance type, e.g. `m6i.xlarge`. Instances at fixed addresses (masters, VPN, admin) must be a Nitro type
   * that encrypts traffic between instances (audit rules CT.EC2.PR.16/19).
   */
  readonly instanceType: string;
  /** Size of the encrypted root volume in GiB. @default 120 */
  readonly rootVolumeGiB: number;
}

export interface MasterProps extends NodeGroupProps {
  /** Masters: 1, 3 or 5 (a ZooKeeper quorum). @default 1 */
  readonly count: number;
  /**
   * Size of each master's state volume (ZooKeeper, the Mesos replicated log, `/var/lib/dcos`), in GiB.
   * The volume is a separate, retained EBS volume that survives the instance. @default 100
   */
  readonly stateVolumeGiB: number;
}

export interface VpnProps {
  /** Instance type of the OpenVPN gateway. @default c6a.large */
  readonly instanceType: string;
  /** The one port the gateway listens on. @default 1194 */
  readonly port: number;
  /** @default udp */
  readonly protocol: 'udp' | 'tcp';
  /** Address pool for VPN clients; must not overlap the VPC. @default 10.255.0.0/24 */
  readonly clientCidr: string;
}

export interface AdminProps {
  /** Instance type of the dcos-cli admin instance. @default c6a.large */
  readonly instanceType: string;
}

export interface BundleProps {
  /**
   * The S3 bucket that holds the DC/OS install bundle, in the cluster's region; `npm run bundle` creates it and
   * uploads `genconf/serve`, and the network stack lets only the cluster's VPC endpoint read it. Lowercase letters,
   * digits and dashes, 3-63 characters: no dots, since nodes fetch it over HTTPS by its virtual-hosted name.
   * @default `<name>-dcos-bundle-<region>`
   */
  readonly bucket: string;
  /** The folder in the bucket that holds `genconf/serve`: the end of `bootstrap_url`. @default dcos */
  readonly prefix: string;
}

export interface SubnetLayout {
  /** Public subnets (internet-facing load balancers, NAT, the VPN entry), one per AZ. */
  readonly public: readonly string[];
  /** Master-zone subnets (masters, internal master load balancer, dcos-cli instance), one per AZ. */
  readonly masterZone: readonly string[];
  /** Private-agent subnets, one per AZ. */
  readonly privateAgents: readonly string[];
  /** Public-agent subnets (reached only through the public load balancer), one per AZ. */
  readonly publicAgents: readonly string[];
}

export interface ClusterConfig {
  /** Cluster name: lowercase letters, digits and dashes, 3-24 characters; prefixes every Name tag. */
  readonly name: string;
  /** One line for the root template's Description. */
  readonly description: string;
  /**
   * The AWS Region the cluster is deployed to. The DC/OS bundle's bucket is there (an S3 gateway endpoint reaches
   * only its own Region's buckets), `bootstrap_url` names it, and the root template refuses any other Region.
   * @default us-east-1
   */
  readonly region: string;
  /** Where the DC/OS install bundle lives: the bucket and folder `bootstrap_url` names. */
  readonly bundle: BundleProps;
  /** Availability Zones to spread over: 1-3; 3 masters or more need 3. @default 1 */
  readonly availabilityZones: number;
  /** The VPC range. @default 10.0.0.0/16 */
  readonly vpcCidr: string;
  /** Subnet ranges per zone and AZ. @default carved from `vpcCidr`, see `defaultSubnets` */
  readonly subnets: SubnetLayout;
  /** One NAT gateway per AZ (true) or one for the whole VPC (false). @default false */
  readonly natGatewayPerAz: boolean;
  /** Masters. @default 1 × m6i.xlarge */
  readonly masters: MasterProps;
  /** Private agents, in the private zone. @default 5 × m6i.xlarge */
  readonly privateAgents: NodeGroupProps;
  /** Public agents (DC/OS role `slave_public`), behind the internet-facing load balancer. @default 1 × m6i.xlarge */
  readonly publicAgents: NodeGroupProps;
  /** The OpenVPN gateway, the only way in for admins. */
  readonly vpn: VpnProps;
  /** The dcos-cli admin instance in the master zone. */
  readonly admin: AdminProps;
  /** Days to keep VPC flow logs: a CloudWatch Logs retention value of at least 365. @default 365 */
  readonly flowLogRetentionDays: number;
}

type DeepPartial<T> = { readonly [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** What a definition file writes: a name, and whatever differs from the defaults. */
export type ClusterDefinition = DeepPartial<ClusterConfig> & { readonly name: string };

/** First host offset for fixed master addresses inside a master-zone subnet (AWS reserves .0-.3). */
export const MASTER_HOST_OFFSET = 10;

/**
 * The default layout for a /16 (or larger) VPC, AZ i = 0..2:
 * public /24 blocks 0-2, master zone /24 blocks 8-10, public agents /22 blocks 3-5, private agents /20 blocks 2-4.
 * For `10.0.0.0/16`: public 10.0.0.0/24…, master 10.0.8.0/24…, public agents 10.0.12.0/22…, private 10.0.32.0/20….
 */
export function defaultSubnets(vpcCidr: string, azs: number): SubnetLayout {
  const range = Array.from({ length: azs }, (_, i) => i);
  const carve = (prefix: number, first: number) => range.map((i) => subnet(vpcCidr, prefix, first + i));
  return { public: carve(24, 0), masterZone: carve(24, 8), publicAgents: carve(22, 3), privateAgents: carve(20, 2) };
}

export const DEFAULTS = {
  description: 'DC/OS cluster with a private master zone, reachable by admins only through OpenVPN',
  region: 'us-east-1',
  bundle: { prefix: 'dcos' },
  availabilityZones: 1,
  vpcCidr: '10.0.0.0/16',
  natGatewayPerAz: false,
  masters: { count: 1, instanceType: 'm6i.xlarge', rootVolumeGiB: 120, stateVolumeGiB: 100 },
  privateAgents: { count: 5, instanceType: 'm6i.xlarge', rootVolumeGiB: 120 },
  publicAgents: { count: 1, instanceType: 'm6i.xlarge', rootVolumeGiB: 120 },
  vpn: { instanceType: 'c6a.large', port: 1194, protocol: 'udp', clientCidr: '10.255.0.0/24' },
  admin: { instanceType: 'c6a.large' },
  flowLogRetentionDays: 365,
} as const satisfies Omit<ClusterConfig, 'name' | 'subnets' | 'bundle'> & { readonly bundle: Omit<BundleProps, 'bucket'> };

/**
 * Fills a definition with the defaults. Validation happens later, in `validateDefinition`, on the result; keys
 * the definition has that ClusterConfig does not (a typo passed through a variable) are kept, so that
 * validation can name them instead of letting the default silently win.
 */
export function defineCluster(def: ClusterDefinition): ClusterConfig {
  const azs = def.availabilityZones ?? DEFAULTS.availabilityZones;
  const vpcCidr = def.vpcCidr ?? DEFAULTS.vpcCidr;
  const region = def.region ?? DEFAULTS.region;
  let carved: SubnetLayout | undefined;
  try {
    carved = defaultSubnets(vpcCidr, Math.max(1, Math.min(3, Math.trunc(azs) || 1)));
  } catch {
    carved = undefined; // a VPC smaller than /16 or a malformed range: validation reports it
  }
  const subnets: SubnetLayout = {
    ...(def.subnets as object),
    public: def.subnets?.public ?? carved?.public ?? [],
    masterZone: def.subnets?.masterZone ?? carved?.masterZone ?? [],
    privateAgents: def.subnets?.privateAgents ?? carved?.privateAgents ?? [],
    publicAgents: def.subnets?.publicAgents ?? carved?.publicAgents ?? [],
  };
  return {
    ...(def as object),
    name: def.name,
    description: def.description ?? DEFAULTS.description,
    region,
    bundle: { bucket: `${def.name}-dcos-bundle-${region}`, ...DEFAULTS.bundle, ...def.bundle },
    availabilityZones: azs,
    vpcCidr,
    subnets,
    natGatewayPerAz: def.natGatewayPerAz ?? DEFAULTS.natGatewayPerAz,
    masters: { ...DEFAULTS.masters, ...def.masters },
    privateAgents: { ...DEFAULTS.privateAgents, ...def.privateAgents },
    publicAgents: { ...DEFAULTS.publicAgents, ...def.publicAgents },
    vpn: { ...DEFAULTS.vpn, ...def.vpn },
    admin: { ...DEFAULTS.admin, ...def.admin },
    flowLogRetentionDays: def.flowLogRetentionDays ?? DEFAULTS.flowLogRetentionDays,
  };
}

/** The AZ index of master `i`: masters are spread round-robin over the AZs. */
export function masterAz(config: ClusterConfig, i: number): number {
  return i % config.availabilityZones;
}

/**
 * Where the nodes fetch the DC/OS bundle, and so the `bootstrap_url` of its config.yaml: the bucket's virtual-hosted
 * HTTPS name in the cluster's region, which resolves to S3's regional addresses and so goes through the VPC's S3
 * gateway endpoint (Amazon S3 User Guide, "Virtual hosting of buckets"; Amazon VPC, "Gateway endpoints for Amazon S3").
 */
export function bundleUrl(config: ClusterConfig): string {
  const domain = partitionOf(config.region) === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://${config.bundle.bucket}.s3.${config.region}.${domain}/${config.bundle.prefix}`;
}

/**
 * The CPU architecture of an EC2 instance type, as an AMI names it: `arm64` for AWS Graviton types, whose family
 * has a `g` among the letters after its generation (`t4g`, `m7g`, `c7gn`, `r8gd`, `x2gd`, `im4gn`, `is4gen`,
 * `g5g`, `hpc7g`) and the first-generation `a1`, else `x86_64` (Amazon EC2 Instance Types, "Naming
 * conventions": the `g` attribute means AWS Graviton processors).
 */
export function instanceArchitecture(instanceType: string): 'arm64' | 'x86_64' {
  const family = /^([a-z]+)(\d+)([a-z-]*)\./.exec(instanceType);
  if (!family) return 'x86_64';
  return family[1] === 'a' || family[3]!.replace(/-flex$/, '').includes('g') ? 'arm64' : 'x86_64';
}

/** The AWS partition of a Region: `aws-cn` for China, `aws-us-gov` for GovCloud, `aws` elsewhere. */
export function partitionOf(region: string): string {
  return region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
}

/** Fixed private addresses of the masters, in order; DC/OS static master discovery uses exactly this list. */
export function masterAddresses(config: ClusterConfig): string[] {
  return Array.from({ length: config.masters.count }, (_, i) =>
    hostAddress(config.subnets.masterZone[masterAz(config, i)]!, MASTER_HOST_OFFSET + Math.floor(i / config.availabilityZones)),
  );
}

/** How many masters live in AZ `az`'s master subnet. */
export function mastersInAz(config: ClusterConfig, az: number): number {
  return Array.from({ length: config.masters.count }, (_, i) => masterAz(config, i)).filter((a) => a === az).length;
}

/**
 * The block reserved for the masters' fixed addresses in AZ `az`'s master subnet (`AWS::EC2::SubnetCidrReservation`,
 * type explicit: EC2 never assigns its addresses by itself, so the dcos-cli instance, the internal load balancer's
 * interfaces or anything launched later cannot take a master's address, also while a master is being rebuilt).
 * The smallest aligned block, at least a /31, holding offsets `MASTER_HOST_OFFSET`.. of the masters there; undefined
 * for a subnet without masters.
 */
export function masterReservation(config: ClusterConfig, az: number): string | undefined {
  const count = mastersInAz(config, az);
  const block = parseCidr(config.subnets.masterZone[az] ?? '');
  if (count === 0 || !block) return undefined;
  const last = MASTER_HOST_OFFSET + count - 1;
  let size = 2;
  while (Math.floor(MASTER_HOST_OFFSET / size) !== Math.floor(last / size)) size *= 2;
  return formatCidr({ base: block.base + Math.floor(MASTER_HOST_OFFSET / size) * size, prefix: 32 - Math.log2(size) });
}
