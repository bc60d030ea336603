/**
 * Drift around a deploy: CloudFormation's drift detection on the deployed root stack and every nested stack
 * (lib/drift/detect.ts), run while the templates are uploaded and the change set is computed, so that the preview can say which
 * drifted properties the deploy would overwrite and which it keeps (lib/deploy/drift-preview.ts); and, for
 * `--revert-drift`, the check that CloudFormation really made every change set of the tree drift-aware.
 *
 * Detection is bounded (`timeoutMs`, each call 120 s) and reports progress. It never stops a deploy: any
 * failure (an emulator without drift detection, a refused permission, a timeout) becomes a `not-checked`
 * result with its reason, printed in the preview, and the deploy goes on. Only an interrupt ends it, as it
 * ends the deploy.
 *
 * Why it is on by default, unlike `cdk deploy` and `cdk diff` (which detect drift only in `cdk drift`): this
 * tool's job is a cluster whose masters must stay unreachable, and the case it guards against is a deploy that
 * silently undoes an incident fix or keeps a hole open. Detection is read-only, costs no money, takes one
 * DetectStackDrift per stack (5 here) plus polls and reads, and runs while CloudFormation computes the change
 * set. `--no-drift-check` skips it.
 */
import { UserError } from '../errors.js';
import { InterruptedError } from '../interrupt.js';
import { detectDrift, type DetectDriftProps } from '../drift/detect.js';
import { summarizeDrift, type DriftReport } from '../drift/report.js';
import { flattenTree, type StackChanges } from './change-set.js';

/** What is known about drift before the deploy. */
export type DriftCheck =
  | { readonly kind: 'checked'; readonly report: DriftReport }
  | { readonly kind: 'not-checked'; readonly reason: string }
  /** A new stack (no drift yet) or `--no-drift-check`. */
  | { readonly kind: 'skipped'; readonly why: string };

/** What detection needs (lib/drift/detect.ts), with deploy's shorter bound: `timeoutMs` defaults to 300000 here. */
export type DriftCheckProps = Pick<DetectDriftProps, 'clients' | 'stackName' | 'endpointUrl' | 'timeoutMs' | 'pollMs'> & {
  /** Progress lines, in the deploy's output. */
  readonly print: (line: string) => void;
};

/** A drift detection under way: its result (never rejected), and how to stop it when no one will read it. */
export interface RunningDriftCheck {
  readonly result: Promise<DriftCheck>;
  /** Ends the wait and any further call (CloudFormation finishes the detections it started on its own). */
  stop(): void;
}

/**
 * Starts drift detection. Its result never rejects: a failure is `not-checked` with the reason, and an
 * interrupt too (the deploy itself stops at its own next call).
 */
export function startDriftCheck(props: DriftCheckProps): RunningDriftCheck {
  const stopper = new AbortController();
  const detecting = detectDrift({
    signal: stopper.signal,
    clients: props.clients,
    stackName: props.stackName,
    ...(props.endpointUrl ? { endpointUrl: props.endpointUrl } : {}),
    progress: props.print,
    timeoutMs: props.timeoutMs ?? 300_000,
    timeoutOption: '--drift-timeout',
    ...(props.pollMs ? { pollMs: props.pollMs } : {}),
  });
  const result = detecting.then(
    (stacks): DriftCheck => ({ kind: 'checked', report: summarizeDrift(props.stackName, props.clients.region, stacks) }),
    (err: unknown): DriftCheck => {
      if (err instanceof InterruptedError) return { kind: 'not-checked', reason: err.message };
      if (err instanceof UserError) return { kind: 'not-checked', reason: err.message.split('\n')[0]! };
      const e = err instanceof Error ? err : new Error(String(err));
      return { kind: 'not-checked', reason: `unexpected ${e.name}: ${e.message.split('\n')[0]} (a bug: please report it; --no-drift-check skips the check)` };
    },
  );
  return { result, stop: () => stopper.abort(new Error('drift detection stopped: the deploy ended before it needed the result')) };
}

/**
 * For `--revert-drift`: throws a UserError unless the root change set and every nested one came back with
 * `DeploymentMode: REVERT_DRIFT`. A change set without it compares templates only and would keep the drift
 * the user asked to revert; an emulator that ignores the parameter (moto) creates exactly that.
 *
 * Nested stacks: CloudFormation's guide to drift-aware change sets does not say whether the mode reaches the
 * change sets of nested stacks, and aws-cdk-cli sends REVERT_DRIFT without IncludeNestedStacks
 * (toolkit-lib `deploy-stack.ts`, aws/aws-cdk-cli#1127 and #1531). Deploy asks for both, because every
 * resource of this cluster lives in a nested stack and the preview and the data gate must see their changes;
 * this check makes the answer explicit instead of assumed.
 */
export function requireDriftAware(tree: StackChanges, stackName: string, endpointUrl: string | undefined): void {
  const normal = flattenTree(tree).filter((s) => s.deploymentMode !== 'REVERT_DRIFT');
  if (normal.length === 0) return;
  const names = normal.map((s) => (s === tree ? `${stackName} (the root)` : s.path.slice(tree.path.length + 1)));
  const who = endpointUrl ? `The endpoint at --endpoint-url ${endpointUrl}` : 'CloudFormation';
  const why = endpointUrl
    ? ' (a local emulator such as moto ignores the parameter: drift-aware change sets exist only in AWS)'
    : ' (CloudFormation documents drift-aware change sets for a stack, and does not say that nested stacks follow)';
  throw new UserError(
    `${who} made a change set that is not drift-aware (no DeploymentMode REVERT_DRIFT) for ${names.join(', ')}${why}.\n` +
      'Executed, it would keep the drift there that --revert-drift is meant to revert, so it is not executed.',
  );
}
