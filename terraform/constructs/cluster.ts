import { EcsCluster } from "@cdktn/provider-aws/lib/ecs-cluster";
import { EcsClusterCapacityProviders } from "@cdktn/provider-aws/lib/ecs-cluster-capacity-providers";
import { Construct } from "constructs";

export interface ClusterProps {
  prefix: string;
}

/** A Fargate cluster with Container Insights, whose RunningTaskCount feeds the processor's scaling math. */
export class Cluster extends Construct {
  readonly arn: string;
  readonly name: string;

  constructor(scope: Construct, id: string, props: ClusterProps) {
    super(scope, id);
    const cluster = new EcsCluster(this, "cluster", {
      name: props.prefix,
      setting: [{ name: "containerInsights", value: "enabled" }],
    });
    new EcsClusterCapacityProviders(this, "capacity", {
      clusterName: cluster.name,
      // Services choose per role (terraform/config.ts `fargate.spot`); the default is on-demand.
      capacityProviders: ["FARGATE", "FARGATE_SPOT"],
      defaultCapacityProviderStrategy: [{ capacityProvider: "FARGATE", weight: 1 }],
    });
    this.arn = cluster.arn;
    this.name = cluster.name;
  }
}
