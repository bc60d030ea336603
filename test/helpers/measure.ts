/**
 * The benchmark's and the emulator tests' hook: one deploy against an endpoint, with every AWS call counted by kind, so
 * `npm run bench` can report the first-deploy time and what an unchanged redeploy costs
 * (target: 3 read calls and one per stack policy, 0 writes, under 1 s).
 */
import { connect, isReadCall, type AwsOptions, type CallCounts } from '../../lib/deploy/aws.js';
import { deploy, type DeployProps, type DeployResult } from '../../lib/deploy/deploy.js';

export interface MeasuredDeploy {
  readonly result: DeployResult;
  /** Calls by operation name, e.g. `{ DescribeStacks: 1, GetTemplate: 1 }`. */
  readonly calls: CallCounts;
  readonly readCalls: number;
  readonly writeCalls: number;
  readonly milliseconds: number;
}

/** Deploys with counting clients for `aws` (typically `{ endpointUrl, region }` of a moto_server). */
export async function measureDeploy(aws: AwsOptions, props: Omit<DeployProps, 'clients'>): Promise<MeasuredDeploy> {
  const started = performance.now();
  const clients = await connect(aws, true);
  const result = await deploy({ ...props, clients, ...(aws.endpointUrl ? { endpointUrl: aws.endpointUrl } : {}) });
  const milliseconds = performance.now() - started;
  const entries = Object.entries(clients.calls);
  const sum = (read: boolean) => entries.filter(([op]) => isReadCall(op) === read).reduce((n, [, c]) => n + c, 0);
  return { result, calls: { ...clients.calls }, readCalls: sum(true), writeCalls: sum(false), milliseconds };
}
