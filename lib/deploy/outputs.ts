/** The cluster's outputs, the last screen of a deploy: how to reach the cluster. */
import type { Output } from '@aws-sdk/client-cloudformation';

export function formatOutputs(stackName: string, outputs: readonly Output[] | undefined): string {
  if (!outputs?.length) return `Stack ${stackName} has no outputs.`;
  const sorted = [...outputs].sort((a, b) => (a.OutputKey ?? '').localeCompare(b.OutputKey ?? ''));
  const width = Math.max(...sorted.map((o) => (o.OutputKey ?? '').length));
  const lines = sorted.map((o) => {
    const description = o.Description ? `\n  ${''.padEnd(width)}  (${o.Description})` : '';
    return `  ${(o.OutputKey ?? '').padEnd(width)}  ${o.OutputValue ?? ''}${description}`;
  });
  return `Outputs of ${stackName}:\n${lines.join('\n')}`;
}
