import { AppautoscalingPolicy } from "@cdktn/provider-aws/lib/appautoscaling-policy";
import { AppautoscalingTarget } from "@cdktn/provider-aws/lib/appautoscaling-target";
import { EcsService } from "@cdktn/provider-aws/lib/ecs-service";
import type { ITerraformDependable } from "cdktn";
import { Construct } from "constructs";
import type { Role, RoleSize } from "../config.ts";
import { allowEgress, CONTAINER, hardenedTask, type TaskProps, type TaskRef } from "./task.ts";

/** The metric a service scales on, with the resources that metric is read from. */
export type ServiceScaling =
  | { kind: "requests"; targetPerTask: number; albArnSuffix: string; targetGroupArnSuffix: string }
  | { kind: "backlog"; targetPerTask: number; queueName: string }
  | { kind: "cpu"; targetPercent: number }
  | { kind: "fixed" };

export interface ServiceProps extends Omit<TaskProps, "name" | "command" | "cpu" | "memory" | "port"> {
  role: Role;
  clusterArn: string;
  clusterName: string;
  subnetIds: string[];
  port: number;
  size: RoleSize;
  /** Fargate Spot for the tasks beyond `size.min` (all of them when `size.min` is the floor of a dev role). */
  spot: "none" | "above-min" | "all";
  loadBalancer?: { targetGroupArn: string; dependsOn: ITerraformDependable[] };
  /** Resources that must exist before the first task starts (the database role the archiver logs in as). */
  dependsOn?: ITerraformDependable[];
  scaling: ServiceScaling;
}

const SCALE_OUT_COOLDOWN_S = 60;
const SCALE_IN_COOLDOWN_S = 300;

/** On-demand or Spot per role: Spot tasks get SIGTERM two minutes before they are taken back. */
function capacityStrategy(spot: ServiceProps["spot"], min: number) {
  switch (spot) {
    case "none":
      return [{ capacityProvider: "FARGATE", weight: 1 }];
    case "all":
      return [{ capacityProvider: "FARGATE_SPOT", weight: 1 }];
    case "above-min":
      return [
        { capacityProvider: "FARGATE", base: min, weight: 0 },
        { capacityProvider: "FARGATE_SPOT", weight: 1 },
      ];
  }
}

/**
 * One role of the binary as a Fargate service: the shared image started with `--role <role>`, in private
 * subnets without a public IP, its own security group, rolling deployments that roll back on failure, and
 * target-tracking autoscaling on the role's own signal.
 */
export class Service extends Construct {
  readonly name: string;
  readonly securityGroupId: string;
  readonly taskDefinitionArn: string;
  private readonly task: TaskRef;

  constructor(scope: Construct, id: string, props: ServiceProps) {
    super(scope, id);
    const { prefix, role } = props;
    const name = `${prefix}-${role}`;
    this.task = hardenedTask(this, {
      ...props,
      name: role,
      command: ["--role", role],
      cpu: props.size.cpu,
      memory: props.size.memory,
    });
    this.securityGroupId = this.task.securityGroupId;
    this.taskDefinitionArn = this.task.arn;

    const scaled = props.scaling.kind !== "fixed";
    const service = new EcsService(this, "service", {
      name,
      cluster: props.clusterArn,
      taskDefinition: this.task.arn,
      desiredCount: props.size.min,
      capacityProviderStrategy: capacityStrategy(props.spot, props.size.min),
      platformVersion: "LATEST",
      propagateTags: "SERVICE",
      enableExecuteCommand: false,
      networkConfiguration: {
        subnets: props.subnetIds,
        securityGroups: [this.task.securityGroupId],
        assignPublicIp: false,
      },
      deploymentCircuitBreaker: { enable: true, rollback: true },
      deploymentMinimumHealthyPercent: 100,
      deploymentMaximumPercent: 200,
      // The deploy job checks each service's rollout itself (scripts/deploy/rollout.ts).
      waitForSteadyState: false,
      ...(props.loadBalancer
        ? {
            loadBalancer: [
              {
                targetGroupArn: props.loadBalancer.targetGroupArn,
                containerName: CONTAINER,
                containerPort: props.port,
              },
            ],
            healthCheckGracePeriodSeconds: 30,
          }
        : {}),
      ...(props.loadBalancer || props.dependsOn
        ? { dependsOn: [...(props.loadBalancer?.dependsOn ?? []), ...(props.dependsOn ?? [])] }
        : {}),
      // Autoscaling owns the task count once the service exists; Terraform must not reset it on every apply.
      ...(scaled ? { lifecycle: { ignoreChanges: ["desired_count"] } } : {}),
    });
    this.name = service.name;
    this.scale(props, service.name);
  }

  /** Lets these tasks open connections to one dependency's security group on its port, and nothing more. */
  allowEgressTo(name: string, securityGroupId: string, port: number): void {
    allowEgress(this, this.task, name, securityGroupId, port);
  }

  private scale(props: ServiceProps, serviceName: string): void {
    const name = `${props.prefix}-${props.role}`;
    if (props.scaling.kind === "fixed") return;
    const target = new AppautoscalingTarget(this, "scaling-target", {
      serviceNamespace: "ecs",
      scalableDimension: "ecs:service:DesiredCount",
      resourceId: `service/${props.clusterName}/${serviceName}`,
      minCapacity: props.size.min,
      maxCapacity: props.size.max,
    });
    new AppautoscalingPolicy(this, "scaling-policy", {
      name: `${name}-${props.scaling.kind}`,
      policyType: "TargetTrackingScaling",
      serviceNamespace: target.serviceNamespace,
      scalableDimension: target.scalableDimension,
      resourceId: target.resourceId,
      targetTrackingScalingPolicyConfiguration: {
        ...trackingMetric(props.scaling, props.clusterName, serviceName),
        scaleOutCooldown: SCALE_OUT_COOLDOWN_S,
        scaleInCooldown: SCALE_IN_COOLDOWN_S,
      },
    });
  }
}

function trackingMetric(
  scaling: Exclude<ServiceScaling, { kind: "fixed" }>,
  cluster: string,
  service: string,
) {
  switch (scaling.kind) {
    case "requests":
      // A count per minute per target (terraform/capacity.ts derives it from measured req/s).
      return {
        targetValue: scaling.targetPerTask,
        predefinedMetricSpecification: {
          predefinedMetricType: "ALBRequestCountPerTarget",
          resourceLabel: `${scaling.albArnSuffix}/${scaling.targetGroupArnSuffix}`,
        },
      };
    case "cpu":
      return {
        targetValue: scaling.targetPercent,
        predefinedMetricSpecification: { predefinedMetricType: "ECSServiceAverageCPUUtilization" },
      };
    case "backlog":
      // Backlog per task = visible messages ÷ running tasks: the queue length alone would scale the same
      // whether one task or twenty are already working on it.
      return {
        targetValue: scaling.targetPerTask,
        customizedMetricSpecification: {
          metrics: [
            {
              id: "visible",
              returnData: false,
              metricStat: {
                stat: "Sum",
                metric: {
                  namespace: "AWS/SQS",
                  metricName: "ApproximateNumberOfMessagesVisible",
                  dimensions: [{ name: "QueueName", value: scaling.queueName }],
                },
              },
            },
            {
              id: "tasks",
              returnData: false,
              metricStat: {
                stat: "Average",
                metric: {
                  namespace: "ECS/ContainerInsights",
                  metricName: "RunningTaskCount",
                  dimensions: [
                    { name: "ClusterName", value: cluster },
                    { name: "ServiceName", value: service },
                  ],
                },
              },
            },
            {
              id: "backlog_per_task",
              label: "messages per task",
              expression: "visible / tasks",
              returnData: true,
            },
          ],
        },
      };
  }
}
