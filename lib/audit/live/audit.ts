/**
 * The live audit of a deployed cluster: read the stacks (resources, deployed templates), read the live
 * state behind them, build the same network model the template audit builds, and run the same exposure
 * analysis and network role rules on it; then compare the live exposure with the deployed templates'.
 *
 * Verdict: `findings` when a role rule fails live (exit 1, as for templates); else `drift` when the
 * live exposure differs from the templates', or a stack's instance or group is gone (exit 3); else
 * `clean` (exit 0). A read AWS refused leaves
 * its facts open, which shows as "may be reachable" and so as findings: unknown is never clean.
 */
import { exposureOf, type GroupExposure } from '../exposure.js';
import { sortFindings, type Finding } from '../finding.js';
import { analyzeNetwork } from '../network.js';
import { DCOS_RULES } from '../rules.js';
import { closeLive, connectLive, LiveReader, type LiveClients } from './aws.js';
import { compareExposure, type ExposureDrift } from './compare.js';
import { buildLiveModel, type LiveNote } from './network.js';
import { readLiveState } from './read.js';
import { readDeployedCluster } from './stacks.js';
import type { AwsOptions, CallCounts } from '../../deploy/aws.js';

/** Our rules that read the network model, so they hold for live state as for templates. */
export const LIVE_RULES = ['DCOS.ELB.1', 'DCOS.ELB.2', 'DCOS.EC2.1', 'DCOS.EC2.2', 'DCOS.EC2.3', 'DCOS.EC2.4'] as const;

/** Exit codes of `npm run audit -- --stack-name`: errors exit 1 too, a wrong option 2. */
export const LIVE_EXIT_CODES = { clean: 0, findings: 1, drift: 3 } as const;

export type LiveVerdict = keyof typeof LIVE_EXIT_CODES;

export interface LiveAuditResult {
  readonly stackName: string;
  readonly region: string;
  /** Root first: each stack's path and CloudFormation name. */
  readonly stacks: readonly { readonly path: string; readonly stackName: string }[];
  readonly verdict: LiveVerdict;
  readonly exitCode: number;
  /** Every stack instance and auto scaling group with how the internet reaches it now. */
  readonly exposure: readonly GroupExposure[];
  /** The same for the deployed templates. */
  readonly templateExposure: readonly GroupExposure[];
  /** Groups whose live exposure differs from the templates', wider first. */
  readonly drift: readonly ExposureDrift[];
  /** Network role rules broken live. */
  readonly findings: readonly Finding[];
  /** Reads AWS refused, one message each naming the IAM action: their facts are "may be". */
  readonly unreadable: readonly string[];
  readonly notes: readonly LiveNote[];
  /** Calls made, by IAM action. */
  readonly calls: CallCounts;
}

export interface LiveAuditProps {
  readonly stackName: string;
  readonly aws: AwsOptions;
  /** Milliseconds for the whole run. @default 300000 */
  readonly timeoutMs?: number;
  /** Milliseconds per call. @default 60000 */
  readonly callTimeoutMs?: number;
  /** Clients to use instead of building them from `aws` (tests). */
  readonly clients?: LiveClients;
}

export async function auditLive(props: LiveAuditProps): Promise<LiveAuditResult> {
  const clients = props.clients ?? (await connectLive(props.aws));
  try {
    const reader = new LiveReader({
      region: clients.region,
      ...(props.aws.profile ? { profile: props.aws.profile } : {}),
      ...(props.aws.endpointUrl ? { endpointUrl: props.aws.endpointUrl } : {}),
      ...(props.timeoutMs ? { timeoutMs: props.timeoutMs } : {}),
      ...(props.callTimeoutMs ? { callTimeoutMs: props.callTimeoutMs } : {}),
    });
    const cluster = await readDeployedCluster(clients, reader, props.stackName);
    const state = await readLiveState(clients, reader, cluster);
    const templateModel = analyzeNetwork(cluster.templates);
    const built = buildLiveModel(cluster, state, templateModel);
    const { model } = built;
    const notes = /_IN_PROGRESS$/.test(cluster.status)
      ? [{ resource: 'Root', note: `stack ${cluster.stackName} is ${cluster.status}: the live state may be between two templates; audit again when it is done` }, ...built.notes]
      : built.notes;
    const exposure = exposureOf(model);
    const templateExposure = exposureOf(templateModel);
    const findings = sortFindings(DCOS_RULES.filter((r) => (LIVE_RULES as readonly string[]).includes(r.id)).flatMap((r) => r.check(cluster.templates, model)));
    const drift = compareExposure(exposure, templateExposure);
    const verdict: LiveVerdict = findings.length ? 'findings' : drift.length || notes.length ? 'drift' : 'clean';
    return {
      stackName: props.stackName,
      region: clients.region,
      stacks: cluster.stacks.map((s) => ({ path: s.path, stackName: s.stackName })),
      verdict,
      exitCode: LIVE_EXIT_CODES[verdict],
      exposure,
      templateExposure,
      drift,
      findings,
      unreadable: [...reader.refused],
      notes,
      calls: { ...reader.calls },
    };
  } finally {
    if (!props.clients) closeLive(clients);
  }
}
