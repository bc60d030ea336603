/**
 * A network load balancer with TCP pass-through listeners, one target group per port. Both of the cluster's
 * load balancers are built here, so they differ only in what the call says.
 */
import { Ref, resource, tags, type CfnResource, type IntrinsicFunction, type Value } from '../lib/template.js';
import { LOAD_BALANCER_WAIVERS, waivers } from './waivers.js';

export interface NetworkLoadBalancerProps {
  readonly cluster: string;
  /** Logical ID prefix: `<id>LoadBalancer`, `<id>Targets<port>`, `<id>Listener<port>`. */
  readonly id: string;
  /** Name tag suffix. */
  readonly name: string;
  readonly scheme: 'internal' | 'internet-facing';
  /** A list parameter of subnets (`!Ref`), one per AZ. */
  readonly subnets: IntrinsicFunction;
  readonly securityGroup: Value<string>;
  readonly ports: readonly number[];
  /** Fixed targets (instance logical IDs); auto scaling groups register themselves instead. */
  readonly targets?: readonly string[];
  /**
   * Whether targets see the client's address. Their security groups admit the load balancer's group either way
   * (AWS: a rule that references the NLB's group works with client IP preservation on). Off where a target may
   * also be a client of the same load balancer, which preservation breaks (hairpinning).
   */
  readonly preserveClientIp: boolean;
  /** Health check; TCP on the traffic port unless given. */
  readonly healthCheck?: { readonly port: number; readonly path: string };
}

export function networkLoadBalancer(props: NetworkLoadBalancerProps): Record<string, CfnResource> {
  const lb = `${props.id}LoadBalancer`;
  const resources: Record<string, CfnResource> = {
    [lb]: resource(
      'AWS::ElasticLoadBalancingV2::LoadBalancer',
      {
        Type: 'network',
        Scheme: props.scheme,
        Subnets: props.subnets,
        SecurityGroups: [props.securityGroup],
        LoadBalancerAttributes: [{ Key: 'load_balancing.cross_zone.enabled', Value: 'true' }],
        Tags: tags(props.cluster, props.name),
      },
      waivers(LOAD_BALANCER_WAIVERS),
    ),
  };
  for (const port of props.ports) {
    resources[`${props.id}Targets${port}`] = resource('AWS::ElasticLoadBalancingV2::TargetGroup', {
      Protocol: 'TCP',
      Port: port,
      VpcId: Ref('VpcId'),
      TargetType: 'instance',
      ...(props.targets ? { Targets: props.targets.map((id) => ({ Id: Ref(id), Port: port })) } : {}),
      ...(props.healthCheck
        ? { HealthCheckProtocol: 'HTTP', HealthCheckPort: String(props.healthCheck.port), HealthCheckPath: props.healthCheck.path }
        : { HealthCheckProtocol: 'TCP' }),
      TargetGroupAttributes: [{ Key: 'preserve_client_ip.enabled', Value: String(props.preserveClientIp) }],
      Tags: tags(props.cluster, `${props.name}-${port}`),
    });
    resources[`${props.id}Listener${port}`] = resource('AWS::ElasticLoadBalancingV2::Listener', {
      LoadBalancerArn: Ref(lb),
      Protocol: 'TCP',
      Port: port,
      DefaultActions: [{ Type: 'forward', TargetGroupArn: Ref(`${props.id}Targets${port}`) }],
    });
  }
  return resources;
}
