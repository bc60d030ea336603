/**
 * Our own rules, for what the Control Tower pack does not check. Written in TypeScript over the template
 * set because most of them need what guard cannot see: roles, values passed between nested stacks, and
 * the load balancer → group graph of the network model.
 */
import { describePaths, exposureOf, formatRanges, fromInternet, type GroupExposure } from './exposure.js';
import { groupBy, stackFinding, type Finding, type Rule } from './finding.js';
import type { TemplateSet } from './load.js';
import type { Fact, Located, NetworkModel as Network, Role } from './model.js';
import { resourcesOfType } from './network.js';
import { PRIVILEGE_RULES } from './privilege.js';
import { covers } from './ranges.js';
import { refsIn, resolvedProperties, type ResourceRef } from './resolve.js';
import { SECRET_RULES } from './secrets.js';
import { DATA_TYPES } from '../stateful.js';
import { USER_DATA_RULES } from './user-data.js';

export type { Rule };

/** SSH and the DC/OS control ports, which the internet must never reach. */
export const CONTROL_PORTS: Readonly<Record<number, string>> = {
  22: 'SSH',
  2181: 'ZooKeeper',
  5050: 'Mesos',
  8080: 'Marathon',
  8123: 'Mesos-DNS',
  8181: 'Exhibitor',
};


const hardenedRoles: readonly Role[] = ['master', 'private-agent', 'public-agent', 'admin'];

export const finding = (rule: Pick<Rule, 'id' | 'title'>, ref: ResourceRef, message: string) => stackFinding(rule, ref.stack, ref.id, message);

/** A finding on a resource of the network model. */
const at = (rule: Pick<Rule, 'id' | 'title'>, where: Located, message: string): Finding => ({
  rule: rule.id,
  title: rule.title,
  stack: where.stack,
  file: where.file,
  resource: where.resource,
  message,
});

/** `yes` and `maybe` both count: what may hold is treated as holding. */
const mayHold = (fact: Fact) => fact.holds !== 'no';

const masterLoadBalancerInternal: Rule = {
  id: 'DCOS.ELB.1',
  title: 'The master load balancer is internal',
  check: (_set, network) =>
    network.loadBalancers
      .filter((lb) => mayHold(lb.internetFacing))
      .flatMap((lb) => {
        const masters = network.groups.filter((g) => g.role === 'master' && lb.listeners.some((l) => l.targets.some((t) => t.group === g.key)));
        return masters.length === 0
          ? []
          : [at(masterLoadBalancerInternal, lb, `${lb.internetFacing.holds === 'yes' ? 'is internet-facing' : `may be internet-facing (${lb.internetFacing.why})`} and forwards to masters (${masters.map((m) => m.resource).join(', ')}); set Scheme: internal`)];
      }),
};

const knownTargets: Rule = {
  id: 'DCOS.ELB.2',
  title: 'Every target of an internet-facing load balancer is a known compute group',
  check: (_set, network) =>
    network.loadBalancers
      .filter((lb) => mayHold(lb.internetFacing))
      .flatMap((lb) =>
        lb.listeners.flatMap((l) =>
          l.unknownTargets.map((t) =>
            at(knownTargets, lb, `listener ${l.from === l.to ? l.from : `${l.from}-${l.to}`} forwards to ${t}, which is no instance or group of these templates; the internet reaches it unchecked`),
          ),
        ),
      ),
};

const noPublicIp: Rule = {
  id: 'DCOS.EC2.1',
  title: 'No master, agent or admin instance has a public IP',
  check: (_set, network) =>
    network.groups
      .filter((g) => hardenedRoles.includes(g.role))
      .flatMap((g) => {
        const placement = g.placements.find((p) => p.publicIpv4.holds === 'yes') ?? g.placements.find((p) => p.publicIpv4.holds === 'maybe');
        if (!placement) return [];
        const verb = placement.publicIpv4.holds === 'yes' ? `gets a public IP (${placement.publicIpv4.why})` : `may get a public IP (${placement.publicIpv4.why})`;
        return [at(noPublicIp, g, `${g.role} ${verb}; set AssociatePublicIpAddress: false and use private subnets`)];
      }),
};

const sourceText = (rule: { readonly source: { readonly kind: string } & Record<string, unknown> }) =>
  rule.source.kind === 'cidr' ? String(rule.source['cidr']) : rule.source.kind === 'prefix-list' ? `prefix list ${String(rule.source['name'])}` : String(rule.source['why']);

const masterIngressFromGroups: Rule = {
  id: 'DCOS.EC2.2',
  title: 'Masters admit traffic only from security groups',
  check: (_set, network) => {
    const keys = new Set(network.groups.filter((g) => g.role === 'master').flatMap((g) => g.placements.flatMap((p) => p.securityGroups)));
    return [...keys].flatMap((key) => {
      const group = network.securityGroups.get(key);
      if (!group) return [];
      const byAddress = groupBy(
        group.rules.filter((r) => r.source.kind !== 'group'),
        (r) => `${r.declaredIn.key} ${sourceText(r)}`,
      );
      const open = group.unknown
        ? network.groups
            .filter((g) => g.role === 'master' && g.placements.some((p) => p.securityGroups.includes(key)))
            .slice(0, 1)
            .map((g) => at(masterIngressFromGroups, g, `master security group ${group.name} may admit anything: ${group.unknown}`))
        : [];
      return [
        ...open,
        ...[...byAddress.values()].map((rules) =>
          at(masterIngressFromGroups, rules[0]!.declaredIn, `master security group ${group.name} admits ${sourceText(rules[0]!)} on ${formatRanges(rules)}; admit security groups instead`),
        ),
      ];
    });
  },
};

const controlPortsClosed: Rule = {
  id: 'DCOS.EC2.3',
  title: 'SSH and the DC/OS control ports (2181, 5050, 8080, 8123, 8181) are never open to the internet',
  check: (_set, network) => {
    const named = (ports: number[]) => ports.map((p) => `${p} (${CONTROL_PORTS[p]})`).join(', ');
    const open = (range: Parameters<typeof covers>[0]) => Object.keys(CONTROL_PORTS).map(Number).filter((p) => covers(range, 'tcp', p));
    const seen = new Set<string>();
    const fromRules = [...network.securityGroups.values()].flatMap((g) => g.rules).flatMap((r) => {
      const internet = fromInternet(r.source, ['ipv4', 'ipv6']);
      const ports = open(r);
      const key = `${r.declaredIn.key} ${sourceText(r)} ${r.protocol} ${r.from}-${r.to}`;
      if (!mayHold(internet) || ports.length === 0 || seen.has(key)) return [];
      seen.add(key);
      return [at(controlPortsClosed, r.declaredIn, `${internet.holds === 'yes' ? 'admits' : 'may admit'} ${sourceText(r)} on tcp ${named(ports)}${internet.holds === 'yes' ? '' : ` (${internet.why})`}`)];
    });
    const fromListeners = network.loadBalancers.flatMap((lb) =>
      mayHold(lb.internetFacing) && lb.securityGroups.length === 0 && lb.kind === 'network'
        ? lb.listeners.flatMap((l) => {
            const ports = open({ protocol: 'tcp', from: l.from, to: l.to });
            return ports.length ? [at(controlPortsClosed, lb, `internet-facing NLB without security groups listens on tcp ${named(ports)} for everyone`)] : [];
          })
        : [],
    );
    return [...fromRules, ...fromListeners];
  },
};

/** What the internet may reach of each role. */
function expectedExposure(e: GroupExposure): string | undefined {
  const direct = e.paths.filter((p) => p.via === 'direct');
  const viaLb = e.paths.filter((p) => p.via === 'load-balancer');
  switch (e.role) {
    case 'public-agent':
      return direct.length === 0 && viaLb.every((p) => p.protocol === 'tcp' && (p.from === 80 || p.from === 443) && p.from === p.to)
        ? undefined
        : 'tcp 80, 443 through its load balancer only';
    case 'vpn':
      return viaLb.length === 0 && direct.length <= 1 && direct.every((p) => p.protocol !== 'all' && p.from === p.to) ? undefined : 'one port, directly';
    default:
      return e.paths.length === 0 ? undefined : 'unreachable';
  }
}

const exposureAsExpected: Rule = {
  id: 'DCOS.EC2.4',
  title: 'The internet reaches only public agents (tcp 80/443 via their load balancer) and the VPN gateway (one port)',
  check: (set, network) =>
    exposureOf(network).flatMap((e) => {
      const expected = expectedExposure(e);
      const stack = set.stacks.find((s) => s.name === e.stack)!;
      return expected === undefined ? [] : [stackFinding(exposureAsExpected, stack, e.resource, `${e.role} ${e.reachable === 'yes' ? 'is reachable' : 'may be reachable'}: ${describePaths(e.paths)}; expected: ${expected}`)];
    }),
};

/** Deletion policies that keep a stateful resource's data when its stack is deleted (Snapshot: only where the type supports it). */
const RETAINED_ON_DELETE = ['Retain', 'RetainExceptOnCreate'];
/** UpdateReplacePolicy values that keep the old resource's data on replacement (it has no RetainExceptOnCreate). */
const RETAINED_ON_REPLACE = ['Retain'];

/** True when `policy` keeps the data of a resource of `type` (Snapshot counts only for a type that supports it). */
function keepsData(policy: string | undefined, retained: readonly string[], type: string): boolean {
  return retained.includes(policy ?? '') || (policy === 'Snapshot' && DATA_TYPES[type]?.snapshot === true);
}

/** What to write instead, for a resource of `type`. */
const advice = (type: string) =>
  `set DeletionPolicy to RetainExceptOnCreate (or Retain${DATA_TYPES[type]?.snapshot ? ', or Snapshot' : ''}) and UpdateReplacePolicy to Retain${DATA_TYPES[type]?.snapshot ? ' (or Snapshot)' : ''}`;

const statefulRetained: Rule = {
  id: 'DCOS.CFN.3',
  title: 'Every stateful resource is retained on deletion and replacement',
  check: (set) =>
    resourcesOfType(set, ...Object.keys(DATA_TYPES))
      .filter((ref) => !keepsData(ref.resource!.DeletionPolicy, RETAINED_ON_DELETE, ref.type ?? '') || !keepsData(ref.resource!.UpdateReplacePolicy, RETAINED_ON_REPLACE, ref.type ?? ''))
      .map((ref) => {
        const snapshotIgnored = [ref.resource!.DeletionPolicy, ref.resource!.UpdateReplacePolicy].includes('Snapshot') && !DATA_TYPES[ref.type ?? '']?.snapshot;
        return finding(
          statefulRetained,
          ref,
          `${ref.type} has DeletionPolicy ${ref.resource!.DeletionPolicy ?? 'Delete (default)'} and UpdateReplacePolicy ${ref.resource!.UpdateReplacePolicy ?? 'Delete (default)'}` +
            `${snapshotIgnored ? ` (${ref.type} has no snapshots: Snapshot keeps nothing)` : ''}; ${advice(ref.type ?? '')}`,
        );
      }),
};

const flowLogsOn: Rule = {
  id: 'DCOS.VPC.1',
  title: 'Every VPC has flow logs',
  check: (set) => {
    const logged = new Set(resourcesOfType(set, 'AWS::EC2::FlowLog').flatMap((f) => refsIn([resolvedProperties(f)['ResourceId'], resolvedProperties(f)['ResourceIds']].flat())).map((r) => r.key));
    return resourcesOfType(set, 'AWS::EC2::VPC')
      .filter((vpc) => !logged.has(vpc.key))
      .map((vpc) => finding(flowLogsOn, vpc, `no AWS::EC2::FlowLog has ResourceId: !Ref ${vpc.id}; add one with TrafficType: ALL`));
  },
};

function deniesInsecureTransport(statement: unknown): boolean {
  const s = (statement ?? {}) as Record<string, unknown>;
  const bool = ((s['Condition'] ?? {}) as Record<string, Record<string, unknown>>)['Bool'] ?? {};
  return s['Effect'] === 'Deny' && String(bool['aws:SecureTransport']).toLowerCase() === 'false';
}

const bucketsTlsOnly: Rule = {
  id: 'DCOS.S3.1',
  title: 'S3 buckets refuse requests without TLS',
  check: (set) => {
    const tlsOnly = new Set(
      resourcesOfType(set, 'AWS::S3::BucketPolicy')
        .filter((p) => {
          const statements = ((resolvedProperties(p)['PolicyDocument'] ?? {}) as Record<string, unknown>)['Statement'];
          return [statements].flat().some(deniesInsecureTransport);
        })
        .flatMap((p) => refsIn(resolvedProperties(p)['Bucket']).map((b) => b.key)),
    );
    return resourcesOfType(set, 'AWS::S3::Bucket')
      .filter((b) => !tlsOnly.has(b.key))
      .map((b) => finding(bucketsTlsOnly, b, `no bucket policy denies requests with aws:SecureTransport false; add an AWS::S3::BucketPolicy with that Deny statement`));
  },
};

/** Our rules, in report order. */
export const DCOS_RULES: readonly Rule[] = [
  masterLoadBalancerInternal,
  knownTargets,
  noPublicIp,
  masterIngressFromGroups,
  controlPortsClosed,
  exposureAsExpected,
  ...SECRET_RULES,
  statefulRetained,
  flowLogsOn,
  bucketsTlsOnly,
  ...PRIVILEGE_RULES,
  ...USER_DATA_RULES,
];

/** Runs every rule of ours over the set. */
export function runDcosRules(set: TemplateSet, network: Network): Finding[] {
  return DCOS_RULES.flatMap((rule) => rule.check(set, network));
}
