import { AppautoscalingPolicy } from "@cdktn/provider-aws/lib/appautoscaling-policy";
import { AppautoscalingTarget } from "@cdktn/provider-aws/lib/appautoscaling-target";
import { EcsService } from "@cdktn/provider-aws/lib/ecs-service";
import { EcsTaskDefinition } from "@cdktn/provider-aws/lib/ecs-task-definition";
import { SecurityGroup } from "@cdktn/provider-aws/lib/security-group";
import { VpcSecurityGroupEgressRule } from "@cdktn/provider-aws/lib/vpc-security-group-egress-rule";
import type { ITerraformDependable } from "cdktn";
import { Construct } from "constructs";
import type { Role, RoleSize } from "../config.ts";

/** The metric a service scales on, with the resources that metric is read from. */
export type ServiceScaling =
  | { kind: "requests"; targetPerTask: number; albArnSuffix: string; targetGroupArnSuffix: string }
  | { kind: "backlog"; targetPerTask: number; queueName: string }
  | { kind: "cpu"; targetPercent: number }
  | { kind: "fixed" };

export interface ServiceProps {
  prefix: string;
  role: Role;
  region: string;
  clusterArn: string;
  clusterName: string;
  vpcId: string;
  subnetIds: string[];
  image: string;
  port: number;
  size: RoleSize;
  environment: Record<string, string>;
  /** Variable name → Secrets Manager `valueFrom` (an ARN, or `<arn>:<json key>::`). */
  secrets: Record<string, string>;
  taskRoleArn: string;
  executionRoleArn: string;
  logGroupName: string;
  healthCheckCommand: readonly string[];
  stopTimeoutSeconds: number;
  loadBalancer?: { targetGroupArn: string; dependsOn: ITerraformDependable[] };
  scaling: ServiceScaling;
}

const CONTAINER = "shop";
const HTTPS = 443;
const SCALE_OUT_COOLDOWN_S = 60;
const SCALE_IN_COOLDOWN_S = 300;

/**
 * One role of the binary as a Fargate service: the shared image started with `--role <role>`, in private
 * subnets without a public IP, its own security group, rolling deployments that roll back on failure, and
 * target-tracking autoscaling on the role's own signal.
 */
export class Service extends Construct {
  readonly name: string;
  readonly securityGroupId: string;

  constructor(scope: Construct, id: string, props: ServiceProps) {
    super(scope, id);
    const { prefix, role } = props;
    const name = `${prefix}-${role}`;
    const sg = new SecurityGroup(this, "sg", {
      name,
      description: `${role} tasks: ingress only as granted explicitly`,
      vpcId: props.vpcId,
      tags: { Name: name },
    });
    this.securityGroupId = sg.id;
    // AWS APIs (DynamoDB, SNS, SQS, ECR, Logs, Secrets Manager) through the NAT gateway; nothing else.
    new VpcSecurityGroupEgressRule(this, "egress-https", {
      securityGroupId: sg.id,
      cidrIpv4: "0.0.0.0/0",
      ipProtocol: "tcp",
      fromPort: HTTPS,
      toPort: HTTPS,
      description: "AWS APIs over TLS",
    });

    const container = {
      name: CONTAINER,
      image: props.image,
      essential: true,
      command: ["--role", role],
      portMappings: [{ containerPort: props.port, protocol: "tcp" }],
      environment: Object.entries(props.environment)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([n, value]) => ({ name: n, value })),
      secrets: Object.entries(props.secrets)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([n, valueFrom]) => ({ name: n, valueFrom })),
      healthCheck: {
        command: props.healthCheckCommand,
        interval: 15,
        timeout: 5,
        retries: 3,
        startPeriod: 10,
      },
      stopTimeout: props.stopTimeoutSeconds,
      readonlyRootFilesystem: true,
      mountPoints: [{ sourceVolume: "tmp", containerPath: "/tmp", readOnly: false }],
      logConfiguration: {
        logDriver: "awslogs",
        options: {
          "awslogs-group": props.logGroupName,
          "awslogs-region": props.region,
          "awslogs-stream-prefix": role,
        },
      },
    };
    const task = new EcsTaskDefinition(this, "task", {
      family: name,
      requiresCompatibilities: ["FARGATE"],
      networkMode: "awsvpc",
      cpu: String(props.size.cpu),
      memory: String(props.size.memory),
      runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "X86_64" },
      taskRoleArn: props.taskRoleArn,
      executionRoleArn: props.executionRoleArn,
      // Scratch space on task storage: the root filesystem stays read-only.
      volume: [{ name: "tmp" }],
      containerDefinitions: JSON.stringify([container]),
    });

    const scaled = props.scaling.kind !== "fixed";
    const service = new EcsService(this, "service", {
      name,
      cluster: props.clusterArn,
      taskDefinition: task.arn,
      desiredCount: props.size.min,
      launchType: "FARGATE",
      platformVersion: "LATEST",
      propagateTags: "SERVICE",
      enableExecuteCommand: false,
      networkConfiguration: {
        subnets: props.subnetIds,
        securityGroups: [sg.id],
        assignPublicIp: false,
      },
      deploymentCircuitBreaker: { enable: true, rollback: true },
      deploymentMinimumHealthyPercent: 100,
      deploymentMaximumPercent: 200,
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
            dependsOn: props.loadBalancer.dependsOn,
          }
        : {}),
      // Autoscaling owns the task count once the service exists; Terraform must not reset it on every apply.
      ...(scaled ? { lifecycle: { ignoreChanges: ["desired_count"] } } : {}),
    });
    this.name = service.name;
    this.scale(props, service.name);
  }

  /** Lets these tasks open connections to one dependency's security group on its port, and nothing more. */
  allowEgressTo(name: string, securityGroupId: string, port: number): void {
    new VpcSecurityGroupEgressRule(this, `egress-${name}`, {
      securityGroupId: this.securityGroupId,
      referencedSecurityGroupId: securityGroupId,
      ipProtocol: "tcp",
      fromPort: port,
      toPort: port,
      description: `To ${name}`,
    });
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
