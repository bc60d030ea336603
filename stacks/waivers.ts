/**
 * Audit waivers, each with its written reason. Only operational-choice rules are waived here; every hardening
 * rule is met, not waived (the audit turns a waiver of a hardening rule into a finding of its own).
 */
import { waive } from '../lib/template.js';

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

/**
 * The same rule in the scanners a user may run over these templates in their own pipeline, each of which
 * reads suppressions from a resource's Metadata: cfn-guard (AWS Guard rules registry, `guard.SuppressedRules`,
 * by rule name), checkov (`checkov.skip`), cfn_nag (`cfn_nag.rules_to_suppress`) and cdk-nag
 * (`cdk_nag.rules_to_suppress`, AwsSolutions pack). Only where a scanner has the rule; cfn-lint has none of
 * these (its `cfn-lint.config.ignore_checks` is for template errors, and we have none to ignore).
 */
export const SCANNER_RULES: Readonly<Record<string, { readonly guard: string; readonly checkov?: string; readonly cfnNag?: string; readonly cdkNag?: string }>> = {
  'CT.ELASTICLOADBALANCING.PR.5': { guard: 'elbv2_deletion_protection_enabled_check', checkov: 'CKV_AWS_150' },
  'CT.ELASTICLOADBALANCING.PR.6': { guard: 'elbv2_logging_enabled_check', checkov: 'CKV_AWS_91', cfnNag: 'W52', cdkNag: 'AwsSolutions-ELB2' },
  'CT.AUTOSCALING.PR.1': { guard: 'autoscaling_multiple_az_check' },
  'CT.AUTOSCALING.PR.6': { guard: 'autoscaling_mixed_instances_policy_multiple_instance_types_check' },
  'CT.S3.PR.2': { guard: 's3_bucket_logging_enabled_check', checkov: 'CKV_AWS_18', cfnNag: 'W35', cdkNag: 'AwsSolutions-S1' },
  'CT.S3.PR.9': { guard: 's3_bucket_object_lock_enabled_check' },
};

/**
 * Waives audit rules for one resource, each with its reason, in our `dcos:waivers` and, with the same
 * reason, in every scanner format that has the rule (`SCANNER_RULES`).
 */
export function waivers(reasons: Readonly<Record<string, string>>): { readonly Metadata: Record<string, unknown> } {
  const each = (scanner: 'checkov' | 'cfnNag' | 'cdkNag') =>
    Object.entries(reasons).flatMap(([rule, reason]) => (SCANNER_RULES[rule]?.[scanner] ? [{ id: SCANNER_RULES[rule][scanner]!, reason }] : []));
  const guard = Object.keys(reasons).flatMap((rule) => (SCANNER_RULES[rule] ? [SCANNER_RULES[rule].guard] : []));
  const checkov = each('checkov').map(({ id, reason }) => ({ id, comment: reason }));
  const cfnNag = each('cfnNag');
  const cdkNag = each('cdkNag');
  return {
    Metadata: {
      ...waive(reasons).Metadata,
      ...(guard.length ? { guard: { SuppressedRules: guard } } : {}),
      ...(checkov.length ? { checkov: { skip: checkov } } : {}),
      ...(cfnNag.length ? { cfn_nag: { rules_to_suppress: cfnNag } } : {}),
      ...(cdkNag.length ? { cdk_nag: { rules_to_suppress: cdkNag } } : {}),
    },
  };
}
