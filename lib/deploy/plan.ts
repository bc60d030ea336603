/**
 * The first half of deploy, shared with diff: check the stack's state (no other change set in flight),
 * resolve parameters, skip when nothing changed, detect drift (while the rest goes on), upload, create the
 * change set (drift-aware with `revertDrift`), read it whole and render the preview, with what the deploy
 * would do to each drifted property. From the moment the change set is asked for until the caller executes
 * it, leaves it or deletes it, an interrupt deletes it (and the empty stack a CREATE made); a failed change
 * set is explained and deleted, and so is one that should have been drift-aware and is not.
 */
import { GetTemplateCommand, type Stack, type Tag } from '@aws-sdk/client-cloudformation';
import { isDeepStrictEqual } from 'node:util';
import { UserError } from '../errors.js';
import { InterruptedError, onInterrupt, throwIfInterrupted } from '../interrupt.js';
import { sha256, templateKey } from '../manifest.js';
import { parseTemplate } from '../yaml.js';
import { accountId, type AwsClients } from './aws.js';
import {
  ChangeSetFailedError,
  createChangeSet,
  discardChangeSet,
  inFlightChangeSets,
  inFlightRefusal,
  readChangeSetTree,
  waitForChangeSet,
  type ChangeSetPurpose,
  type ChangeSetRef,
  type ChangeSetType,
  type StackChanges,
} from './change-set.js';
import { checkBundleRecord } from './bundle-check.js';
import { explainFailedChangeSet } from './change-set-failure.js';
import { requireDriftAware, startDriftCheck, type DriftCheck, type RunningDriftCheck } from './drift-check.js';
import { renderDriftPreview, type DriftPreview } from './drift-preview.js';
import { resolveParameters, sameParameters, sameTags, toTags } from './parameters.js';
import { renderPreview, type Preview } from './preview.js';
import { checkStackState } from './stack-state.js';
import { requiredCapabilities, type TemplateSet } from './templates.js';
import { bucketUrl, defaultBucketName, ensureBucket, uploadTemplates } from './upload.js';

export interface PlanProps {
  readonly clients: AwsClients;
  readonly templates: TemplateSet;
  readonly stackName: string;
  /** Values from --parameters-file and --parameter. */
  readonly parameters: Readonly<Record<string, string>>;
  /** From --tag; undefined keeps the deployed stack's tags. */
  readonly tags?: Readonly<Record<string, string>>;
  /** --bucket; undefined uses (and creates) the default bucket. */
  readonly bucket?: string;
  readonly endpointUrl?: string;
  readonly replaceFailed?: boolean;
  readonly print: (line: string) => void;
  /** @default 2000 */
  readonly pollMs?: number;
  /** How long CloudFormation may take to compute the change set. @default 15 minutes */
  readonly changeSetTimeoutMs?: number;
  /** Drift detection on the deployed stacks before the preview; false for --no-drift-check. @default true */
  readonly driftCheck?: boolean;
  /** Milliseconds drift detection may take, all stacks together (--drift-timeout). @default 300000 */
  readonly driftTimeoutMs?: number;
  /** Compare the bundle's recorded genconf with `templates`' before any change set; false for --skip-bundle-check. @default true */
  readonly bundleCheck?: boolean;
  /** --revert-drift: a drift-aware change set (REVERT_DRIFT) for an existing stack. @default false */
  readonly revertDrift?: boolean;
}

/** A change set this run created, until it is executed, left for review or deleted. */
export interface OwnedChangeSet {
  readonly changeSet: ChangeSetRef;
  /** True when this run also created the (empty, REVIEW_IN_PROGRESS) stack for it. */
  readonly createdStack: boolean;
  /** Deletes it (and the stack this run created); returns the sentence saying so. */
  discard(): Promise<string>;
  /** It is executed or left on purpose: an interrupt no longer deletes it. */
  release(): void;
}

export type Plan =
  | { readonly kind: 'no-op'; readonly stack: Stack; readonly why: string }
  | ({
      readonly kind: 'empty';
      readonly type: ChangeSetType;
      /** All drift is kept: nothing changes. */
      readonly drift: DriftPreview;
    } & OwnedChangeSet)
  | ({
      readonly kind: 'changes';
      readonly type: ChangeSetType;
      readonly stack?: Stack;
      readonly tree: StackChanges;
      readonly preview: Preview;
      /** What the change set would do to each drifted property. */
      readonly drift: DriftPreview;
    } & OwnedChangeSet);

/** CloudFormation's limit for a template passed inline. */
const MAX_TEMPLATE_BODY = 51_200;

/** The account ID is the fifth field of a stack ARN: no STS call for an existing stack. */
function accountOf(stack: Stack | undefined): string | undefined {
  return stack?.StackId?.split(':')[4] || undefined;
}

/** True when the deployed root template is the local one, byte for byte or as parsed. */
function sameTemplate(deployed: string | undefined, local: string): boolean {
  if (deployed === undefined) return false;
  if (deployed === local) return true;
  try {
    return isDeepStrictEqual(parseTemplate(deployed), parseTemplate(local));
  } catch {
    return false;
  }
}

export async function plan(props: PlanProps, purpose: ChangeSetPurpose = 'deploy'): Promise<Plan> {
  const { clients, templates, stackName, print } = props;
  const { cfn, s3, region } = clients;

  // 1. The stack's state: CREATE or UPDATE, waiting out an operation in progress.
  const state = await checkStackState({ cfn, stackName, print, ...(props.replaceFailed ? { replaceFailed: true } : {}), ...(props.pollMs ? { pollMs: props.pollMs } : {}) });
  const existing = state.stack ?? state.reviewStack;

  // 2. Where the templates go, and so the TemplateBaseUrl parameter.
  const bucket = props.bucket ?? defaultBucketName(accountOf(existing) ?? (await accountId(clients)), region);
  const templateBaseUrl = bucketUrl(bucket, region, props.endpointUrl);

  // 3. Parameters (previous values kept on an update) and tags.
  const { parameters, effective, notes } = resolveParameters(templates.root.template, props.parameters, state.stack?.Parameters, templateBaseUrl);
  for (const note of notes) print(note);
  const tags: Tag[] | undefined = props.tags ? toTags(props.tags) : undefined;

  // 4. Nothing changed? Same root template (its nested TemplateURLs carry content hashes), parameters and tags.
  //    With --revert-drift the templates may be the same and the live resources not: always ask CloudFormation.
  const revertDrift = props.revertDrift === true && state.type === 'UPDATE';
  if (!revertDrift && state.stack && sameParameters(effective, state.stack.Parameters ?? []) && sameTags(tags, state.stack.Tags)) {
    const deployed = await cfn.send(new GetTemplateCommand({ StackName: state.stack.StackId ?? stackName, TemplateStage: 'Original' }));
    if (sameTemplate(deployed.TemplateBody, templates.root.body)) {
      return { kind: 'no-op', stack: state.stack, why: 'the root template, parameters and tags equal what is deployed' };
    }
  }

  // 5. The DC/OS bundle was made from this out/'s genconf (one GetObject; an unchanged redeploy ships nothing and
  //    skips it). No change set in flight (another deploy at its prompt, one being computed or executed), then
  //    upload the nested templates under content-hash keys.
  if (props.bundleCheck !== false) await checkBundleRecord({ s3, region, templates, print, creating: !state.stack && purpose !== 'diff' });
  if (existing) {
    const busy = await inFlightChangeSets(cfn, existing.StackId ?? stackName);
    if (busy.length) throw inFlightRefusal(stackName, busy);
  }
  if (props.revertDrift && !revertDrift) print(`--revert-drift: stack ${stackName} does not exist yet, so it has no drift; it is created with a normal change set.`);
  const detection = checkDrift(props, state.type === 'UPDATE');
  try {
    const tlsOnly = !props.endpointUrl?.startsWith('http:');
    await ensureBucket({ s3, bucket, region, create: props.bucket === undefined, tlsOnly, log: print });
    // A root template over CloudFormation's 51,200-byte TemplateBody limit goes by URL too.
    const rootKey = Buffer.byteLength(templates.root.body) > MAX_TEMPLATE_BODY ? templateKey(templates.root.file, sha256(templates.root.body)) : undefined;
    const objects = Object.values(templates.nested).map(({ key, body }) => ({ key, body }));
    if (rootKey) objects.push({ key: rootKey, body: templates.root.body });
    const upload = await uploadTemplates({ s3, bucket, objects });
    print(`Templates in s3://${bucket}: ${upload.uploaded.length} uploaded, ${upload.skipped.length} already there.`);

    // 6. The change set, owned by this run from the request on: an interrupt deletes it.
    const createdStack = state.type === 'CREATE' && !state.reviewStack;
    const creating = createChangeSet(cfn, {
      stackName,
      type: state.type,
      ...(rootKey ? { templateUrl: `${templateBaseUrl}/${rootKey}` } : { templateBody: templates.root.body }),
      parameters,
      capabilities: requiredCapabilities(templates),
      ...(tags ? { tags } : {}),
      purpose,
      revertDrift,
    });
    const release = onInterrupt(async () => {
      const ref = await creating.catch(() => undefined);
      print(ref ? `  ${await discardChangeSet(cfn, ref, createdStack)}` : '  No change set was created.');
    });
    let changeSet: ChangeSetRef;
    try {
      changeSet = await creating;
    } catch (err) {
      if (!(err instanceof InterruptedError)) release();
      throw err;
    }
    const owned: OwnedChangeSet = { changeSet, createdStack, discard: () => (release(), discardChangeSet(cfn, changeSet, createdStack)), release };

    // 7. Read it whole, nested stacks included; explain and delete one that failed or that raced another run's.
    try {
      const rivals = await inFlightChangeSets(cfn, changeSet.stackId, changeSet.id);
      if (rivals.length) throw inFlightRefusal(stackName, rivals);
      const ready = await waitForChangeSet(cfn, changeSet, { ...(props.pollMs ? { pollMs: props.pollMs } : {}), ...(props.changeSetTimeoutMs ? { timeoutMs: props.changeSetTimeoutMs } : {}) });
      if (ready.kind === 'empty') return { kind: 'empty', type: state.type, drift: renderDriftPreview(await settled(detection.result), undefined), ...owned };
      const tree = await readChangeSetTree(cfn, changeSet.id, stackName, stackName, ready.first);
      if (revertDrift) requireDriftAware(tree, stackName, props.endpointUrl);
      const drift = renderDriftPreview(await settled(detection.result), tree);
      return { kind: 'changes', type: state.type, ...(state.stack ? { stack: state.stack } : {}), tree, preview: renderPreview(tree, (id) => templates.nested[id]?.template), drift, ...owned };
    } catch (err) {
      if (err instanceof InterruptedError) throw err;
      if (err instanceof ChangeSetFailedError) {
        const { causes, advice } = await explainFailedChangeSet(cfn, stackName, err.described, changeSet.id);
        const did = await owned.discard();
        throw new UserError(`Change set ${changeSet.name} failed: ${err.described.StatusReason ?? 'no reason given'}\n${causes.map((c) => `  - ${c}`).join('\n')}\n${did}\n${advice}`);
      }
      const did = await owned.discard().catch(() => `Could not delete change set ${changeSet.name}; delete it in the console.`);
      if (err instanceof UserError) throw new UserError(`${err.message}\n${did}`, err.exitCode);
      print(did);
      throw err;
    }
  } finally {
    detection.stop(); // a plan that ended before it read the result leaves nothing polling
  }
}

/**
 * Starts drift detection on an existing stack (it runs while the templates are uploaded and the change set is
 * computed), or says why there is none.
 */
function checkDrift(props: PlanProps, existing: boolean): RunningDriftCheck {
  const none = (why: string): RunningDriftCheck => ({ result: Promise.resolve({ kind: 'skipped', why }), stop: () => {} });
  if (!existing) return none('');
  if (props.driftCheck === false) {
    return none("not checked (--no-drift-check). A deploy keeps drift wherever it does not change a property and overwrites it where it does; 'npm run drift' shows what has drifted.");
  }
  return startDriftCheck({
    clients: props.clients,
    stackName: props.stackName,
    ...(props.endpointUrl ? { endpointUrl: props.endpointUrl } : {}),
    print: props.print,
    ...(props.driftTimeoutMs ? { timeoutMs: props.driftTimeoutMs } : {}),
    ...(props.pollMs ? { pollMs: props.pollMs } : {}),
  });
}

/** The drift check's result, once the deploy needs it; an interrupt meanwhile stops the plan here. */
async function settled(drifting: Promise<DriftCheck>): Promise<DriftCheck> {
  const check = await drifting;
  throwIfInterrupted();
  return check;
}
