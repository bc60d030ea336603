/**
 * Deploy and diff check, before any change set, that the DC/OS bundle in S3 was made from the genconf of the out/
 * they ship: `npm run bundle` records it next to the bundle (`<prefix>/dcos-cfn-genconf.json`, `BundleRecord`), and
 * one GetObject reads it back. A bundle made from another genconf (say, before `vpcCidr` moved the masters) would
 * only be found out by the nodes at boot, after a long deploy that then rolls back.
 *
 * A missing record (a bundle uploaded before `npm run bundle` wrote one) is a note, not a refusal: the nodes still
 * check the master list themselves at boot. A missing bucket is a note for an update and for diff, and a refusal for
 * a deploy that creates the stack: its bucket policy (Network/BundleBucketPolicy) needs the bucket, so the create
 * would fail and roll back.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { isDeepStrictEqual } from 'node:util';
import { BUNDLE_RECORD, genconfMasterList, type BundleRecord } from '../bundle.js';
import { UserError } from '../errors.js';
import { AwsCallError, awsErrorName } from './aws.js';
import type { TemplateSet } from './templates.js';

export interface BundleCheckProps {
  readonly s3: S3Client;
  /** The Region the S3 client calls. */
  readonly region: string;
  readonly templates: TemplateSet;
  readonly print: (line: string) => void;
  /** True for a deploy that creates the stack (a missing bucket then refuses it). */
  readonly creating?: boolean;
}

/** The option that skips the check, as deploy and diff take it. */
export const SKIP_BUNDLE_CHECK = '--skip-bundle-check';

/**
 * Reads the bundle's record and refuses (UserError) when it names another genconf than `templates`' manifest,
 * naming the differing master lists (or files) and the fix. Prints a note when there is no record to compare.
 */
export async function checkBundleRecord(props: BundleCheckProps): Promise<void> {
  const { s3, templates, print } = props;
  const { manifest, dir } = templates;
  const location = manifest.bundle;
  if (!location || !manifest.genconf) return;
  const where = `s3://${location.bucket}/${location.prefix}/${BUNDLE_RECORD}`;
  if (props.region !== location.region) {
    print(`Note: the DC/OS bundle was not checked: it is in ${location.region}, and this deploy goes to ${props.region}.`);
    return;
  }
  let text: string | undefined;
  try {
    const got = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: `${location.prefix}/${BUNDLE_RECORD}` }));
    text = await got.Body?.transformToString();
  } catch (err) {
    const name = awsErrorName(err);
    if (name === 'NoSuchBucket' && props.creating) {
      throw new UserError(
        `The DC/OS bundle's bucket ${location.bucket} does not exist, so creating the stack would fail at Network/BundleBucketPolicy (the policy needs the bucket) and roll back. ` +
          `Run npm run bundle first: it creates the bucket and uploads the bundle the nodes fetch from ${location.url}. Nothing was created.`,
      );
    }
    if (name === 'NoSuchBucket') {
      print(`Note: no DC/OS bundle yet: bucket ${location.bucket} does not exist. Run npm run bundle before the nodes boot (they fetch it from ${location.url}).`);
      return;
    }
    if (name === 'NoSuchKey' || name === 'NotFound') {
      print(`Note: ${where} not found: the bundle was uploaded before npm run bundle recorded its genconf, or not at all, so it was not checked here. Run npm run bundle to check it.`);
      return;
    }
    if (err instanceof AwsCallError && err.problem === 'access') {
      // The bucket's policy refuses requests without TLS (aws:SecureTransport): a plain-http endpoint is refused by it.
      const endpoint = await s3.config.endpoint?.().catch(() => undefined);
      if (endpoint?.protocol === 'http:') {
        throw new UserError(
          `${where} could not be read (access denied): the endpoint is plain http, and the bundle bucket's policy refuses every request without TLS (aws:SecureTransport), as it should. ` +
            `Against a local emulator, pass ${SKIP_BUNDLE_CHECK}.`,
        );
      }
      throw new UserError(`${where} could not be read (access denied): grant this identity s3:GetObject on the bundle bucket, or pass ${SKIP_BUNDLE_CHECK} if you know the bundle is right.`);
    }
    throw err;
  }
  let record: BundleRecord | undefined;
  try {
    record = JSON.parse(text ?? '') as BundleRecord;
  } catch {
    record = undefined;
  }
  if (!record || typeof record.genconf !== 'object' || !Array.isArray(record.masterList)) {
    throw new UserError(`${where} is not a record npm run bundle wrote. Run npm run bundle again, or pass ${SKIP_BUNDLE_CHECK} if you know the bundle is right.`);
  }
  if (isDeepStrictEqual(record.genconf, manifest.genconf)) return;
  const masters = genconfMasterList(dir, manifest);
  const differs = isDeepStrictEqual(record.masterList, masters)
    ? `its ${Object.keys({ ...record.genconf, ...manifest.genconf }).filter((f) => record.genconf[f] !== manifest.genconf?.[f]).join(', ')} differ`
    : `its master_list is ${record.masterList.join(', ') || '(empty)'}, but ${dir}/ places the masters at ${masters.join(', ')}`;
  throw new UserError(
    `The DC/OS bundle in s3://${location.bucket}/${location.prefix}/ was made from another genconf than ${dir}/genconf: ${differs}. ` +
      `Its nodes would refuse it at boot. Make the bundle from this ${dir}/genconf (dcos_generate_config.sh) and run npm run bundle, ` +
      `or pass ${SKIP_BUNDLE_CHECK} if you know the bundle is right. Nothing was changed.`,
  );
}
