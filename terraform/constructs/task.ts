import { EcsTaskDefinition } from "@cdktn/provider-aws/lib/ecs-task-definition";
import { SecurityGroup } from "@cdktn/provider-aws/lib/security-group";
import { VpcSecurityGroupEgressRule } from "@cdktn/provider-aws/lib/vpc-security-group-egress-rule";
import type { Construct } from "constructs";

export interface TaskProps {
  /** `<prefix>-<name>` names the family, the security group and the log stream prefix. */
  prefix: string;
  name: string;
  region: string;
  vpcId: string;
  image: string;
  command: readonly string[];
  /** The port the container listens on; none for a one-off task. */
  port?: number;
  cpu: number;
  memory: number;
  architecture: "X86_64" | "ARM64";
  environment: Record<string, string>;
  /** Variable name → Secrets Manager `valueFrom` (an ARN, or `<arn>:<json key>::`). */
  secrets: Record<string, string>;
  taskRoleArn: string;
  executionRoleArn: string;
  logGroupName: string;
  healthCheckCommand?: readonly string[];
  stopTimeoutSeconds: number;
  /** uid:gid the process runs as: the image's non-root user, stated so a changed image cannot turn it root. */
  user: string;
  /** Soft and hard open-file limit. */
  nofile: number;
  /** An ADOT collector sidecar exporting the app's spans to X-Ray; the app's OTEL_* variables point at it. */
  tracing?: { sampleRatio: number; environmentName: string };
}

/**
 * AWS Distro for OpenTelemetry's collector, pinned: a new release is a deliberate, reviewed change. The app
 * exports OTLP/HTTP to it over the task's loopback; it batches and sends to X-Ray with the task role.
 */
export const COLLECTOR_IMAGE = "public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0";
export const COLLECTOR = "otel-collector";
const OTLP_HTTP_PORT = 4318;

/** The collector's whole configuration, handed over in AOT_CONFIG_CONTENT (no file to bake or mount). */
function collectorConfig(region: string): string {
  return [
    "receivers:",
    "  otlp:",
    "    protocols:",
    "      http:",
    `        endpoint: 127.0.0.1:${OTLP_HTTP_PORT}`,
    "processors:",
    "  batch:",
    "    timeout: 1s",
    "exporters:",
    "  awsxray:",
    `    region: ${region}`,
    // The app's W3C trace ids are random; X-Ray accepts them since it supports W3C trace ids.
    "service:",
    "  pipelines:",
    "    traces:",
    "      receivers: [otlp]",
    "      processors: [batch]",
    "      exporters: [awsxray]",
    "",
  ].join("\n");
}

export const CONTAINER = "shop";
const HTTPS = 443;

export interface TaskRef {
  arn: string;
  family: string;
  securityGroupId: string;
}

/**
 * The shared image started with one command, hardened: explicit non-root user, every Linux capability
 * dropped, read-only root filesystem with a scratch /tmp, an explicit open-file limit. Its own security
 * group allows egress to AWS APIs over TLS only, plus what `allowEgress` adds. Created in `scope`, so the
 * service or one-off task that owns it names its resources.
 */
export function hardenedTask(scope: Construct, props: TaskProps): TaskRef {
  const name = `${props.prefix}-${props.name}`;
  const sg = new SecurityGroup(scope, "sg", {
    name,
    description: `${props.name} tasks: ingress only as granted explicitly`,
    vpcId: props.vpcId,
    tags: { Name: name },
  });
  // AWS APIs (DynamoDB, SNS, SQS, ECR, Logs, Secrets Manager) through endpoints or NAT; nothing else.
  new VpcSecurityGroupEgressRule(scope, "egress-https", {
    securityGroupId: sg.id,
    cidrIpv4: "0.0.0.0/0",
    ipProtocol: "tcp",
    fromPort: HTTPS,
    toPort: HTTPS,
    description: "AWS APIs over TLS",
  });

  const tracingEnv: Record<string, string> = props.tracing
    ? {
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${OTLP_HTTP_PORT}`,
        OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
        OTEL_TRACES_SAMPLER_ARG: String(props.tracing.sampleRatio),
        OTEL_RESOURCE_ATTRIBUTES: `deployment.environment.name=${props.tracing.environmentName}`,
      }
    : {};
  const logs = (prefix: string) => ({
    logDriver: "awslogs",
    options: {
      "awslogs-group": props.logGroupName,
      "awslogs-region": props.region,
      "awslogs-stream-prefix": prefix,
    },
  });
  // Not essential: a collector that dies costs spans (counted by the app), never the task or a request.
  const collector = props.tracing
    ? {
        name: COLLECTOR,
        image: COLLECTOR_IMAGE,
        essential: false,
        command: ["--config=env:AOT_CONFIG_CONTENT"],
        environment: [{ name: "AOT_CONFIG_CONTENT", value: collectorConfig(props.region) }],
        user: props.user,
        readonlyRootFilesystem: true,
        linuxParameters: { capabilities: { drop: ["ALL"] } },
        mountPoints: [{ sourceVolume: "tmp", containerPath: "/tmp", readOnly: false }],
        memoryReservation: 64,
        logConfiguration: logs(`${props.name}-otel`),
      }
    : undefined;

  const container = {
    name: CONTAINER,
    image: props.image,
    essential: true,
    command: props.command,
    user: props.user,
    ...(props.port !== undefined ? { portMappings: [{ containerPort: props.port, protocol: "tcp" }] } : {}),
    environment: Object.entries({ ...props.environment, ...tracingEnv })
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([n, value]) => ({ name: n, value })),
    secrets: Object.entries(props.secrets)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([n, valueFrom]) => ({ name: n, valueFrom })),
    ...(props.healthCheckCommand
      ? {
          healthCheck: {
            command: props.healthCheckCommand,
            interval: 15,
            timeout: 5,
            retries: 3,
            startPeriod: 10,
          },
        }
      : {}),
    stopTimeout: props.stopTimeoutSeconds,
    readonlyRootFilesystem: true,
    linuxParameters: { capabilities: { drop: ["ALL"] } },
    ulimits: [{ name: "nofile", softLimit: props.nofile, hardLimit: props.nofile }],
    mountPoints: [{ sourceVolume: "tmp", containerPath: "/tmp", readOnly: false }],
    logConfiguration: logs(props.name),
    ...(collector ? { dependsOn: [{ containerName: COLLECTOR, condition: "START" }] } : {}),
  };
  const task = new EcsTaskDefinition(scope, "task", {
    family: name,
    requiresCompatibilities: ["FARGATE"],
    networkMode: "awsvpc",
    cpu: String(props.cpu),
    memory: String(props.memory),
    runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: props.architecture },
    taskRoleArn: props.taskRoleArn,
    executionRoleArn: props.executionRoleArn,
    // Scratch space on task storage: the root filesystem stays read-only.
    volume: [{ name: "tmp" }],
    containerDefinitions: JSON.stringify(collector ? [container, collector] : [container]),
  });
  return { arn: task.arn, family: name, securityGroupId: sg.id };
}

/** Lets a task's security group open connections to one dependency's group on its port, and nothing more. */
export function allowEgress(
  scope: Construct,
  task: TaskRef,
  name: string,
  securityGroupId: string,
  port: number,
): void {
  new VpcSecurityGroupEgressRule(scope, `egress-${name}`, {
    securityGroupId: task.securityGroupId,
    referencedSecurityGroupId: securityGroupId,
    ipProtocol: "tcp",
    fromPort: port,
    toPort: port,
    description: `To ${name}`,
  });
}
