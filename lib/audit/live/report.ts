/**
 * The live audit as text: the exposure now (the template audit's table), the drift from the deployed
 * templates, the findings, what AWS refused to show, notes, and the calls made; or as JSON.
 */
import { formatExposure, formatFindings } from '../report.js';
import type { LiveAuditResult } from './audit.js';

const bullet = (lines: readonly string[], none: string) => (lines.length ? lines.map((l) => `  - ${l}`).join('\n') : none);

export function formatLiveReport(result: LiveAuditResult): string {
  const asAudit = { label: result.stackName, exposure: result.exposure, findings: result.findings, waivers: [] };
  const drift = result.drift.length
    ? result.drift.map((d) => [`  ${d.role} ${d.group}:`, ...d.lines.map((l) => `    ${l}`)].join('\n')).join('\n')
    : "  None: every group's live exposure is its template's.";
  const calls = Object.entries(result.calls).sort(([a], [b]) => a.localeCompare(b));
  const total = calls.reduce((n, [, c]) => n + c, 0);
  const verdict =
    result.verdict === 'clean'
      ? `audit: stack ${result.stackName}: ${result.exposure.length} compute groups checked live, 0 findings, no drift from the deployed templates.`
      : `audit: stack ${result.stackName}: ${result.findings.length} finding(s), ${result.drift.length} group(s) whose live exposure differs from the deployed templates${result.notes.length ? `, ${result.notes.length} note(s)` : ''}.`;
  return [
    `Live exposure of stack ${result.stackName} in ${result.region} (${result.stacks.map((s) => s.path).join(', ')})`,
    '',
    formatExposure(asAudit),
    '',
    'Drift from the deployed templates',
    '',
    drift,
    '',
    'Findings',
    '',
    formatFindings(asAudit),
    ...(result.unreadable.length ? ['', "Not read (what these calls would show counts as 'may be reachable')", '', bullet(result.unreadable, '')] : []),
    ...(result.notes.length ? ['', 'Notes', '', bullet(result.notes.map((n) => `${n.resource}: ${n.note}`), '')] : []),
    '',
    `Read calls: ${total} (${calls.map(([action, n]) => `${action} ${n}`).join(', ')})`,
    verdict,
  ].join('\n');
}
