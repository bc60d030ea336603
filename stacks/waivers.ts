/**
 * Audit waivers, each with its written reason. Only operational-choice rules are waived here; every hardening
 * rule is met, not waived (the audit turns a waiver of a hardening rule into a finding of its own).
 */

export const LOAD_BALANCER_WAIVERS = {
  'CT.ELASTICLOADBALANCING.PR.5':
    'Deletion protection would make `npm run destroy` fail; the root stack has termination protection and every stack a policy that denies replacing or deleting stateful resources.',
  'CT.ELASTICLOADBALANCING.PR.6':
    'The listeners are TCP pass-through, for which NLBs write no access logs (they log TLS listeners only); VPC flow logs record the traffic.',
} as const;

export const AGENT_GROUP_WAIVERS = {
  'CT.AUTOSCALING.PR.6':
    'DC/OS agents in one group are kept alike (same CPU, memory and disk per node) so that task placement is predictable; the instance type is chosen in the cluster definition.',
} as const;

/** Only for clusters defined with one Availability Zone. */
export const SINGLE_AZ_WAIVER = {
  'CT.AUTOSCALING.PR.1': 'The cluster definition sets availabilityZones: 1; the ha definition spreads every group over 3 AZs.',
} as const;

export const PROFILE_BUCKET_WAIVERS = {
  'CT.S3.PR.2':
    'The bucket holds one object written once by the VPN gateway; reads of it need IAM permission on the bucket and the KMS key and are recorded by CloudTrail (S3 data events when enabled). A second, unlogged log bucket would not add to that.',
  'CT.S3.PR.9': 'Client profiles are rewritten when certificates are reissued or revoked; Object Lock would keep revoked credentials.',
} as const;
