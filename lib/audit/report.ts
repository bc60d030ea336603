/**
 * Audit results as text: the exposure table, the findings, the waivers, and two sets side by side
 * (`--compare`). Tables are Markdown, so the README can show them as printed.
 */
import type { AuditResult } from './audit.js';
import { describePaths } from './exposure.js';
import { groupBy } from './finding.js';
import { ROLES, type Role } from './network.js';
import { controlTowerRules } from './guard.js';
import { DCOS_RULES } from './rules.js';
import { WAIVER_RULE } from './waivers.js';

/** A Markdown table with padded columns. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => cell(r[i] ?? '').length)));
  const line = (r: readonly string[]) => `| ${r.map((c, i) => cell(c).padEnd(widths[i]!)).join(' | ')} |`;
  return [line(headers), `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`, ...rows.map(line)].join('\n');
}

const roleRank = (role: Role) => ROLES.indexOf(role);

export function formatExposure(result: AuditResult): string {
  const rows = [...result.exposure]
    .sort((a, b) => roleRank(a.role) - roleRank(b.role) || a.stack.localeCompare(b.stack) || a.resource.localeCompare(b.resource))
    .map((e) => [e.role, `${e.stack}/${e.resource}`, describePaths(e.paths)]);
  return rows.length === 0 ? 'No instances or auto scaling groups.' : table(['Role', 'Group', 'Reachable from the internet'], rows);
}

/** Findings grouped by rule: the rule and what it requires, then each resource with what is wrong there. */
export function formatFindings(result: AuditResult): string {
  if (result.findings.length === 0) return 'No findings.';
  return [...groupBy(result.findings, (f) => f.rule)]
    .map(([rule, findings]) => {
      const sameMessage = findings.every((f) => f.message === findings[0]!.message);
      const lines = findings.map((f) => `  - ${f.stack}/${f.resource}${sameMessage ? '' : `: ${f.message}`}`);
      return [`${rule}  ${findings[0]!.title}`, ...(sameMessage ? [`  fix: ${findings[0]!.message}`] : []), ...lines].join('\n');
    })
    .join('\n');
}

export function formatWaivers(result: AuditResult): string {
  if (result.waivers.length === 0) return 'No waivers.';
  return table(
    ['Rule', 'Resource', 'Reason', 'Status'],
    result.waivers.map((w) => [w.rule, `${w.stack}/${w.resource}`, w.reason || '(none)', !w.valid ? 'INVALID' : w.used ? 'waived' : 'unused']),
  );
}

/** The whole report for one set: exposure, findings, waivers and a one-line verdict. */
export function formatReport(result: AuditResult): string {
  const verdict =
    result.findings.length === 0
      ? `audit: ${result.label}: ${result.exposure.length} compute groups checked, 0 findings.`
      : `audit: ${result.label}: ${result.findings.length} finding(s) in ${new Set(result.findings.map((f) => f.rule)).size} rule(s).`;
  return [
    `Exposure (${result.label})`,
    '',
    formatExposure(result),
    '',
    'Findings',
    '',
    formatFindings(result),
    '',
    'Waivers',
    '',
    formatWaivers(result),
    '',
    verdict,
  ].join('\n');
}

/** Titles of every known rule, by ID. */
function ruleTitles(): Map<string, string> {
  return new Map([
    ...controlTowerRules().map((r): [string, string] => [r.id, r.title]),
    ...DCOS_RULES.map((r): [string, string] => [r.id, r.title]),
    [WAIVER_RULE.id, WAIVER_RULE.title],
  ]);
}

function roleExposure(result: AuditResult, role: Role): string {
  const groups = result.exposure.filter((e) => e.role === role);
  return groups.length === 0 ? '—' : describePaths(groups.flatMap((g) => g.paths));
}

/** Two sets side by side, row by row: exposure per role, then finding counts per rule. */
export function formatCompare(left: AuditResult, right: AuditResult): string {
  const roles = ROLES.filter((role) => [left, right].some((r) => r.exposure.some((e) => e.role === role)));
  const exposure = table(
    ['Role', left.label, right.label],
    roles.map((role) => [role, roleExposure(left, role), roleExposure(right, role)]),
  );
  const titles = ruleTitles();
  const count = (r: AuditResult, rule: string) => r.findings.filter((f) => f.rule === rule).length;
  const rules = [...new Set([...left.findings, ...right.findings].map((f) => f.rule))].sort((a, b) =>
    a.localeCompare(b, 'en', { numeric: true }),
  );
  const findings = table(
    ['Rule', 'Requires', left.label, right.label],
    [
      ...rules.map((rule) => [rule, titles.get(rule) ?? rule, String(count(left, rule)), String(count(right, rule))]),
      ['Total', '', String(left.findings.length), String(right.findings.length)],
    ],
  );
  return ['Exposure by role', '', exposure, '', 'Findings by rule (resources)', '', findings].join('\n');
}
