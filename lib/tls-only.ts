/**
 * The bucket policy statement that refuses every request not made over TLS. One definition for the buckets
 * the templates declare (the VPN profile bucket) and the one deploy creates (the template bucket). The audit
 * (DCOS.S3.1, and Control Tower's CT.S3.PR.8) looks for exactly this shape.
 */
export function denyInsecureTransport<T>(bucketArn: T, objectsArn: T) {
  return {
    Sid: 'DenyInsecureTransport',
    Effect: 'Deny',
    Principal: '*',
    Action: 's3:*',
    Resource: [bucketArn, objectsArn],
    Condition: { Bool: { 'aws:SecureTransport': 'false' } },
  } as const;
}
