/**
 * What a subnet means for the internet's reach, from the templates: whether it maps public IPv4 addresses
 * or IPv6 addresses on launch, whether its route table sends IPv4 or IPv6 to an internet gateway, and its
 * network ACL. A subnet given as a parameter or a literal ID is not defined by the templates, but the
 * templates may still associate it with a route table or ACL of theirs; what they do not say stays open.
 */
import { allOf, anyOf, maybe, no, yes, type AclEntry, type Fact, type Family, type NetworkAcl } from './model.js';
import { existence, prop, type Lookup } from './lookup.js';
import { portsOf, protocolOf } from './ranges.js';
import { describeItem, identityOf, isFalse, isTrue, itemsIn, ResourceRef, Unknown, type Item } from './resolve.js';

export interface SubnetFacts {
  readonly name: string;
  readonly mapsPublicIpv4: Fact;
  readonly assignsIpv6: Fact;
  readonly routed: Readonly<Record<Family, Fact>>;
  /** Undefined: an ACL that admits everything (a VPC's default). */
  readonly acl?: NetworkAcl;
  /** The subnet's VPC, when the templates say. */
  readonly vpc?: Item;
}

/** Where instances launched without a subnet go. */
export const DEFAULT_VPC = 'no subnet is given, so instances go to the default VPC, whose state is not in the templates';

export function defaultVpcFacts(): SubnetFacts {
  const open = maybe(DEFAULT_VPC);
  return { name: 'the default VPC', mapsPublicIpv4: open, assignsIpv6: open, routed: { ipv4: open, ipv6: open } };
}

function flag(value: unknown, yesWhy: string, noWhy: string): Fact {
  if (value instanceof Unknown) return maybe(`${yesWhy.split(' ')[0]} ${value.why}`);
  return isTrue(value) ? yes(yesWhy) : isFalse(value) || value === undefined ? no(noWhy) : maybe(`${yesWhy}: unexpected value ${String(value)}`);
}

/** Whether a route sends traffic of this family to an internet gateway. */
function routeToInternet(route: ResourceRef, family: Family): Fact {
  const destination = family === 'ipv4' ? prop(route, 'DestinationCidrBlock') : prop(route, 'DestinationIpv6CidrBlock');
  const prefixList = prop(route, 'DestinationPrefixListId');
  if (destination === undefined && prefixList === undefined) return no('');
  const gateway = itemsIn(prop(route, 'GatewayId'))[0];
  const where = `route ${route.id} sends ${typeof destination === 'string' ? destination : 'traffic'} to`;
  if (gateway === undefined) return no(''); // a NAT gateway, a NAT instance, a peering or transit gateway: no way in
  if (gateway instanceof ResourceRef) {
    return gateway.type === 'AWS::EC2::InternetGateway' ? allOf(existence(gateway), yes(`${where} internet gateway ${gateway.id}`)) : no('');
  }
  if (gateway instanceof Unknown) return maybe(`${where} gateway ${describeItem(gateway)}, known only at deploy time`);
  return gateway.startsWith('igw-') ? yes(`${where} internet gateway ${gateway}`) : no('');
}

function tableRouted(lookup: Lookup, table: Item, family: Family): Fact {
  const routes = lookup.pointingAt('AWS::EC2::Route', 'RouteTableId', identityOf(table)).map((r) => {
    const toInternet = routeToInternet(r, family);
    const exists = existence(r);
    return exists.holds === 'yes' ? toInternet : toInternet.holds === 'no' ? toInternet : maybe(`${toInternet.why}; ${exists.why}`);
  });
  const defined = lookup.resourceOf(table, 'AWS::EC2::RouteTable');
  const outside = defined ? [] : [maybe(`route table ${describeItem(table)} is not defined in the templates: it may hold other routes`)];
  return anyOf([...routes, ...outside], `route table ${describeItem(table)} has no route to an internet gateway`);
}

function routing(lookup: Lookup, subnet: Item, defined: ResourceRef | undefined, vpc: Item | undefined, family: Family): Fact {
  const name = describeItem(subnet);
  const associations = lookup.pointingAt('AWS::EC2::SubnetRouteTableAssociation', 'SubnetId', identityOf(subnet));
  if (associations.length > 0) {
    return anyOf(associations.flatMap((a) => itemsIn(prop(a, 'RouteTableId')).map((t) => tableRouted(lookup, t, family))));
  }
  if (!defined) return maybe(notDefinedWhy(name));
  if (vpc && lookup.resourceOf(vpc, 'AWS::EC2::VPC')) {
    return no(`subnet ${name} uses its VPC's main route table, which the templates cannot route to an internet gateway`);
  }
  return maybe(`subnet ${name} uses the main route table of VPC ${vpc ? describeItem(vpc) : '(not given)'}, which is not in the templates`);
}

function aclOf(lookup: Lookup, acl: Item): NetworkAcl {
  const name = describeItem(acl);
  if (!lookup.resourceOf(acl, 'AWS::EC2::NetworkAcl')) return { name, entries: [], unknown: `network ACL ${name} is not defined in the templates` };
  const entries = lookup
    .pointingAt('AWS::EC2::NetworkAclEntry', 'NetworkAclId', identityOf(acl))
    .filter((e) => !isTrue(prop(e, 'Egress')) && existence(e).holds !== 'no')
    .map((e): AclEntry => {
      const { protocol } = protocolOf(prop(e, 'Protocol'));
      const range = (prop(e, 'PortRange') ?? {}) as Record<string, unknown>;
      const cidr = prop(e, 'CidrBlock') ?? prop(e, 'Ipv6CidrBlock');
      return {
        number: Number(prop(e, 'RuleNumber')),
        allow: String(prop(e, 'RuleAction')).toLowerCase() === 'allow',
        protocol,
        ...portsOf(protocol, range['From'], range['To']),
        ...(typeof cidr === 'string' ? { cidr } : {}),
      };
    })
    .sort((a, b) => a.number - b.number);
  return { name, entries };
}

/** One reason for all a subnet the templates only name leaves open, so reports say it once. */
const notDefinedWhy = (name: string) => `subnet ${name} is not defined in the templates: its public IP mapping, routing and network ACL are not known`;

/** What the templates say about a subnet (a resource of the set, a literal ID or a parameter). */
export function subnetFacts(lookup: Lookup, subnet: Item): SubnetFacts {
  const name = describeItem(subnet);
  const defined = lookup.resourceOf(subnet, 'AWS::EC2::Subnet');
  const vpc = defined ? itemsIn(prop(defined, 'VpcId'))[0] : undefined;
  const notDefined = maybe(notDefinedWhy(name));
  const aclAssociation = lookup.pointingAt('AWS::EC2::SubnetNetworkAclAssociation', 'SubnetId', identityOf(subnet))[0];
  const acl = aclAssociation
    ? itemsIn(prop(aclAssociation, 'NetworkAclId')).map((a) => aclOf(lookup, a))[0]
    : defined
      ? undefined
      : { name: `the network ACL of ${name}`, entries: [], unknown: notDefinedWhy(name) };
  return {
    name,
    mapsPublicIpv4: defined ? flag(prop(defined, 'MapPublicIpOnLaunch'), `subnet ${name} maps public IPs on launch`, `subnet ${name} maps no public IPs`) : notDefined,
    assignsIpv6: defined
      ? flag(prop(defined, 'AssignIpv6AddressOnCreation'), `subnet ${name} assigns IPv6 addresses`, `subnet ${name} assigns no IPv6 addresses`)
      : notDefined,
    routed: { ipv4: routing(lookup, subnet, defined, vpc, 'ipv4'), ipv6: routing(lookup, subnet, defined, vpc, 'ipv6') },
    ...(acl ? { acl } : {}),
    ...(vpc !== undefined ? { vpc } : {}),
  };
}
