/**
 * Exposure drift: where the live exposure of a compute group differs from its template's, port by port
 * and way in by way in (`direct`, or through a named load balancer). Each port is in one of three
 * states on each side (reachable, may be reachable, unreachable); every range whose states differ is
 * reported, e.g. "tcp 22 direct: reachable live, unreachable in the template".
 */
import type { GroupExposure, InternetPath } from '../exposure.js';
import type { PortRange, Protocol, Role } from '../model.js';
import { formatRanges, hasPorts } from '../ranges.js';

export type Reach = 'reachable' | 'may be reachable' | 'unreachable';

export interface ExposureChange extends PortRange {
  /** `direct`, or `via <load balancer>`. */
  readonly way: string;
  readonly live: Reach;
  readonly template: Reach;
}

export interface ExposureDrift {
  readonly role: Role;
  /** `MasterZone/Master1`. */
  readonly group: string;
  /** `wider`: some port is reachable (or may be) live beyond the template; `narrower`: only less live. */
  readonly direction: 'wider' | 'narrower';
  readonly changes: readonly ExposureChange[];
  /** One line per change: `tcp 22 direct: reachable live, unreachable in the template`. */
  readonly lines: readonly string[];
}

const RANK: Readonly<Record<Reach, number>> = { unreachable: 0, 'may be reachable': 1, reachable: 2 };

const wayOf = (p: InternetPath) => (p.via === 'direct' ? 'direct' : `via ${p.loadBalancer?.resource ?? 'a load balancer outside the stacks'}`);

function reach(paths: readonly InternetPath[], protocol: Protocol, port: number): Reach {
  const covering = paths.filter((p) => (p.protocol === 'all' || p.protocol === protocol) && (!hasPorts(protocol) || (p.from <= port && port <= p.to)));
  return covering.some((p) => p.certainty === 'proved') ? 'reachable' : covering.length ? 'may be reachable' : 'unreachable';
}

/** The port segments on which the state cannot change: every range boundary of either side, per protocol. */
function segments(paths: readonly InternetPath[]): PortRange[] {
  const protocols = new Set<Protocol>(paths.map((p) => p.protocol));
  const out: PortRange[] = [];
  for (const protocol of protocols) {
    if (!hasPorts(protocol)) {
      out.push({ protocol, from: 0, to: 65535 });
      continue;
    }
    const cuts = new Set([0, 65536]);
    for (const p of paths.filter((q) => q.protocol === protocol || q.protocol === 'all')) {
      cuts.add(p.from);
      cuts.add(p.to + 1);
    }
    const sorted = [...cuts].filter((c) => c >= 0 && c <= 65536).sort((a, b) => a - b);
    for (let i = 0; i + 1 < sorted.length; i++) out.push({ protocol, from: sorted[i]!, to: sorted[i + 1]! - 1 });
  }
  // `all` as its own protocol stands for every protocol no other range names.
  return out;
}

function changesOf(live: readonly InternetPath[], template: readonly InternetPath[]): ExposureChange[] {
  const ways = [...new Set([...live, ...template].map(wayOf))];
  const changes: ExposureChange[] = [];
  for (const way of ways) {
    const l = live.filter((p) => wayOf(p) === way);
    const t = template.filter((p) => wayOf(p) === way);
    for (const s of segments([...l, ...t])) {
      const a = reach(l, s.protocol, s.from);
      const b = reach(t, s.protocol, s.from);
      if (a === b) continue;
      const last = changes[changes.length - 1];
      if (last && last.way === way && last.protocol === s.protocol && last.live === a && last.template === b && last.to + 1 === s.from) {
        changes[changes.length - 1] = { ...last, to: s.to };
      } else changes.push({ way, protocol: s.protocol, from: s.from, to: s.to, live: a, template: b });
    }
  }
  return changes;
}

/** Lines grouping changes of the same way and states: `tcp 22, 80 direct: reachable live, unreachable in the template`. */
function linesOf(changes: readonly ExposureChange[]): string[] {
  const groups = new Map<string, ExposureChange[]>();
  for (const c of changes) groups.set(`${c.way}\n${c.live}\n${c.template}`, [...(groups.get(`${c.way}\n${c.live}\n${c.template}`) ?? []), c]);
  return [...groups.values()].map((cs) => `${formatRanges(cs)} ${cs[0]!.way}: ${cs[0]!.live} live, ${cs[0]!.template} in the template`);
}

const nameOf = (e: Pick<GroupExposure, 'stack' | 'resource'>) => `${e.stack}/${e.resource}`;

/** Every group whose live exposure differs from its template's, widest first. */
export function compareExposure(live: readonly GroupExposure[], template: readonly GroupExposure[]): ExposureDrift[] {
  const drifts: ExposureDrift[] = [];
  for (const t of template) {
    const l = live.find((e) => nameOf(e) === nameOf(t));
    if (!l) continue; // a group gone live is a note of the live model, not an exposure
    const changes = changesOf(l.paths, t.paths);
    if (changes.length === 0) continue;
    const direction = changes.some((c) => RANK[c.live] > RANK[c.template]) ? 'wider' : 'narrower';
    drifts.push({ role: l.role, group: nameOf(l), direction, changes, lines: linesOf(changes) });
  }
  for (const l of live.filter((e) => !template.some((t) => nameOf(t) === nameOf(e)))) {
    const changes = changesOf(l.paths, []);
    if (changes.length) drifts.push({ role: l.role, group: nameOf(l), direction: 'wider', changes, lines: linesOf(changes) });
  }
  return drifts.sort((a, b) => (a.direction === b.direction ? 0 : a.direction === 'wider' ? -1 : 1));
}
