/**
 * The resolved network model the exposure analysis reads: compute groups with the interfaces through which
 * the internet might reach them, security groups with their ingress rules, load balancers with their
 * listeners and targets. Plain data with no CloudFormation in it: `network.ts` builds it from templates; a
 * reader of deployed state can build the same and hand it to `exposureOf`.
 *
 * Every fact is three-valued (`Fact`): proved to hold, proved not to hold, or open, with the reason the
 * inputs leave it open. An open fact is never read as "no".
 */

export const ROLES = ['master', 'private-agent', 'public-agent', 'vpn', 'admin', 'other'] as const;
export type Role = (typeof ROLES)[number];

export const COMPUTE_TYPES = ['AWS::EC2::Instance', 'AWS::AutoScaling::AutoScalingGroup'] as const;
export type ComputeType = (typeof COMPUTE_TYPES)[number];

/** `yes` and `no` are proved; `maybe` is what the inputs do not decide. */
export type Holds = 'yes' | 'no' | 'maybe';

/** A three-valued fact and why it has that value (for `maybe`: what is not pinned down). */
export interface Fact {
  readonly holds: Holds;
  readonly why: string;
}

export const yes = (why: string): Fact => ({ holds: 'yes', why });
export const no = (why: string): Fact => ({ holds: 'no', why });
export const maybe = (why: string): Fact => ({ holds: 'maybe', why });

const whys = (facts: readonly Fact[]) => [...new Set(facts.map((f) => f.why).filter((w) => w !== ''))].join('; ');

/** Every fact holds: `no` if one is proved false, `maybe` (with the open reasons) if one is open, else `yes`. */
export function allOf(...facts: Fact[]): Fact {
  const failed = facts.find((f) => f.holds === 'no');
  if (failed) return failed;
  const open = facts.filter((f) => f.holds === 'maybe');
  return open.length ? maybe(whys(open)) : yes(whys(facts));
}

/** Some fact holds: `yes` if one is proved, `maybe` if one is open, `no` (an empty list included) otherwise. */
export function anyOf(facts: readonly Fact[], none = 'none applies'): Fact {
  const proved = facts.find((f) => f.holds === 'yes');
  if (proved) return proved;
  const open = facts.filter((f) => f.holds === 'maybe');
  return open.length ? maybe(whys(open)) : no(facts.length ? whys(facts) : none);
}

/**
 * An IP protocol: `all` (`-1`), the four AWS names, or any other protocol number (`47` GRE, `50` ESP), which
 * stands for all of that protocol.
 */
export type Protocol = 'all' | 'tcp' | 'udp' | 'icmp' | 'icmpv6' | `${number}`;

/** A protocol and an inclusive port range (for ICMP, the types; for `all` and protocol numbers, 0-65535). */
export interface PortRange {
  readonly protocol: Protocol;
  readonly from: number;
  readonly to: number;
}

export type Family = 'ipv4' | 'ipv6';

/** Where a resource is: the stack's report name, its template file, the logical ID and type, and a unique key. */
export interface Located {
  /** Unique in the model: `<stack>:<logical ID>` for template resources. */
  readonly key: string;
  readonly stack: string;
  readonly file: string;
  readonly resource: string;
  readonly type: string;
}

/** Who an ingress rule admits. */
export type Source =
  | { readonly kind: 'cidr'; readonly cidr: string }
  | { readonly kind: 'group'; readonly group: string }
  /** A prefix list; `cidrs` when its entries are known. */
  | { readonly kind: 'prefix-list'; readonly name: string; readonly cidrs?: readonly string[] }
  | { readonly kind: 'unknown'; readonly why: string };

export interface IngressRule extends PortRange {
  readonly declaredIn: Located;
  readonly source: Source;
  /** Whether the rule exists (a condition decided at deploy time makes it `maybe`). */
  readonly exists: Fact;
  /** Why the protocol or ports are wider than written (a value known only at deploy time). */
  readonly doubt?: string;
}

export interface SecurityGroup {
  /** Key in `NetworkModel.securityGroups`. */
  readonly key: string;
  /** How reports name it: the logical ID, a group ID or the parameter that holds one. */
  readonly name: string;
  readonly rules: readonly IngressRule[];
  /** Set when rules beyond `rules` may exist (a group the inputs do not define): why. */
  readonly unknown?: string;
}

/** One ingress entry of a network ACL. */
export interface AclEntry extends PortRange {
  readonly number: number;
  readonly allow: boolean;
  /** The source block; undefined when known only at deploy time. */
  readonly cidr?: string;
}

export interface NetworkAcl {
  readonly name: string;
  /** Ingress entries in rule-number order (the implicit final deny is not listed). */
  readonly entries: readonly AclEntry[];
  /** Set when the entries are not known: why. */
  readonly unknown?: string;
}

/** One way a group's instances sit on the network: a network interface in one subnet. */
export interface Placement {
  /** `primary interface in PublicSubnet`, `PublicEni in PublicSubnet`. */
  readonly name: string;
  /** The interface has a public IPv4 address (auto-assigned or an Elastic IP). */
  readonly publicIpv4: Fact;
  /** ...and its subnet routes IPv4 to an internet gateway. */
  readonly internetIpv4: Fact;
  /** It has an IPv6 address and its subnet routes IPv6 to an internet gateway. */
  readonly internetIpv6: Fact;
  /** Keys into `NetworkModel.securityGroups`. */
  readonly securityGroups: readonly string[];
  /** The subnet's network ACL; undefined for one that admits everything (a VPC's default ACL). */
  readonly acl?: NetworkAcl;
}

export interface ComputeGroup extends Located {
  readonly type: ComputeType;
  readonly role: Role;
  /** Whether it is created at all (a resource condition). */
  readonly exists: Fact;
  readonly placements: readonly Placement[];
  /**
   * Load balancer registrations the inputs do not resolve (a target group or load balancer name from a
   * parameter): the reason each is open. Any load balancer may be behind one.
   */
  readonly unknownRegistrations: readonly string[];
}

/** A compute group a listener forwards to, and how. */
export interface Target {
  readonly group: string;
  /** The port traffic reaches the instances on (the target group's or the listener's instance port). */
  readonly port?: number;
  /** Instances see the client's address (an NLB's client IP preservation). */
  readonly preserveClientIp: boolean;
}

export interface Listener {
  readonly protocols: readonly Protocol[];
  readonly from: number;
  readonly to: number;
  /** Why the port is not pinned down. */
  readonly doubt?: string;
  readonly targets: readonly Target[];
  /** Targets that are no compute group of the model (an IP address, a Lambda, a target group not defined). */
  readonly unknownTargets: readonly string[];
}

export interface LoadBalancer extends Located {
  readonly kind: 'classic' | 'application' | 'network' | 'gateway';
  readonly exists: Fact;
  readonly internetFacing: Fact;
  /** Its subnets route to an internet gateway (an internet-facing load balancer in others is unreachable). */
  readonly routed: Fact;
  /** Keys into `NetworkModel.securityGroups`; empty for an NLB without security groups. */
  readonly securityGroups: readonly string[];
  /** The VPC range, when known: a target rule admitting it admits the load balancer's own addresses. */
  readonly vpcCidrs: readonly string[];
  readonly listeners: readonly Listener[];
}

export interface NetworkModel {
  readonly groups: readonly ComputeGroup[];
  readonly loadBalancers: readonly LoadBalancer[];
  readonly securityGroups: ReadonlyMap<string, SecurityGroup>;
}
