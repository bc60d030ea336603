/**
 * Nested templates go to S3 under content-hash keys (`network-<sha256>.yaml`), so an unchanged
 * template keeps its URL and is uploaded once. The default bucket, one per account and region, is
 * created on first use: encrypted, public access blocked, TLS only.
 *
 * Exported for `npm run package` as well as deploy.
 */
import {
  CreateBucketCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutBucketEncryptionCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  PutPublicAccessBlockCommand,
  type BucketLocationConstraint,
  type S3Client,
} from '@aws-sdk/client-s3';
import { UserError } from '../errors.js';
import { awsErrorName } from './aws.js';
import { denyInsecureTransport } from '../tls-only.js';

/** The bucket deploy uses when `--bucket` is not given. */
export function defaultBucketName(account: string, region: string): string {
  return `dcos-cfn-templates-${account}-${region}`;
}

/** The URL CloudFormation reads objects of `bucket` from (path style on an emulator). */
export function bucketUrl(bucket: string, region: string, endpointUrl?: string): string {
  if (endpointUrl === undefined) return `https://${bucket}.s3.${region}.amazonaws.com`;
  const url = new URL(endpointUrl);
  // moto resolves a TemplateURL from its own S3 only when the host is 'localhost'.
  if (url.hostname === '127.0.0.1') url.hostname = 'localhost';
  return `${url.origin}/${bucket}`;
}

/** The bucket policy that refuses every request not made over TLS. */
export function tlsOnlyPolicy(bucket: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [denyInsecureTransport(`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`)],
  });
}

function isNotFound(err: unknown): boolean {
  const name = awsErrorName(err);
  return name === 'NotFound' || name === 'NoSuchBucket' || name === 'NoSuchKey' || (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404;
}

export interface EnsureBucketProps {
  readonly s3: S3Client;
  readonly bucket: string;
  readonly region: string;
  /** Create the bucket when it does not exist (the default bucket); otherwise a missing bucket is an error. */
  readonly create: boolean;
  /**
   * Add the TLS-only bucket policy. False only for an emulator reached over plain http, which the
   * policy would lock out (moto enforces it). @default true
   */
  readonly tlsOnly?: boolean;
  /** What the bucket is for, in the line that says it is being made. @default templates */
  readonly purpose?: string;
  readonly log?: (line: string) => void;
}

/** Makes sure the bucket exists; creates it hardened when allowed. Returns true when it was created. */
export async function ensureBucket({ s3, bucket, region, create, tlsOnly = true, purpose = 'templates', log = () => {} }: EnsureBucketProps): Promise<boolean> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
    return false;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  if (!create) throw new UserError(`S3 bucket ${bucket} (--bucket) does not exist. Create it in ${region}, or omit --bucket to use the default bucket.`);
  log(`Creating S3 bucket ${bucket} for ${purpose} (encrypted, public access blocked${tlsOnly ? ', TLS only' : '; TLS-only policy skipped: the endpoint is plain http'}).`);
  await s3.send(
    new CreateBucketCommand({
      Bucket: bucket,
      ...(region === 'us-east-1' ? {} : { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }),
    }),
  );
  await s3.send(
    new PutPublicAccessBlockCommand({
      Bucket: bucket,
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true },
    }),
  );
  await s3.send(
    new PutBucketEncryptionCommand({
      Bucket: bucket,
      ServerSideEncryptionConfiguration: { Rules: [{ ApplyServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' }, BucketKeyEnabled: true }] },
    }),
  );
  if (tlsOnly) await s3.send(new PutBucketPolicyCommand({ Bucket: bucket, Policy: tlsOnlyPolicy(bucket) }));
  return true;
}

export interface TemplateObject {
  /** Object key relative to the prefix, a content-hash key from `templateKey`. */
  readonly key: string;
  readonly body: string;
}

export interface UploadProps {
  readonly s3: S3Client;
  readonly bucket: string;
  /** Folder inside the bucket, without slashes at the ends. @default none */
  readonly prefix?: string;
  readonly objects: readonly TemplateObject[];
}

export interface UploadResult {
  readonly uploaded: readonly string[];
  readonly skipped: readonly string[];
}

/** Uploads each object unless one with its key already exists (content-hash keys: same key, same bytes). */
export async function uploadTemplates({ s3, bucket, prefix, objects }: UploadProps): Promise<UploadResult> {
  const uploaded: string[] = [];
  const skipped: string[] = [];
  await Promise.all(
    objects.map(async ({ key, body }) => {
      const Key = prefix ? `${prefix}/${key}` : key;
      try {
        await s3.send(new HeadObjectCommand({ Bucket: bucket, Key }));
        skipped.push(Key);
        return;
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key, Body: body, ContentType: 'application/x-yaml' }));
      uploaded.push(Key);
    }),
  );
  return { uploaded: uploaded.sort(), skipped: skipped.sort() };
}
