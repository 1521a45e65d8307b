import { CloudwatchDashboard } from "@cdktn/provider-aws/lib/cloudwatch-dashboard";
import { CloudwatchLogGroup } from "@cdktn/provider-aws/lib/cloudwatch-log-group";
import { CloudwatchLogMetricFilter } from "@cdktn/provider-aws/lib/cloudwatch-log-metric-filter";
import { CloudwatchMetricAlarm } from "@cdktn/provider-aws/lib/cloudwatch-metric-alarm";
import { SnsTopic } from "@cdktn/provider-aws/lib/sns-topic";
import { SnsTopicSubscription } from "@cdktn/provider-aws/lib/sns-topic-subscription";
import { Construct } from "constructs";
import type { Role } from "../config.ts";
import type { TargetGroupRef } from "./alb.ts";

export interface ObservabilityProps {
  prefix: string;
  region: string;
  /** The roles that run as ECS services: each gets its log group. */
  roles: readonly Role[];
  retentionDays: number;
  alarmEmail?: string;
}

/** Who consumes the orders queue: an ECS service, or the Lambda function (its metrics join the dashboard). */
export type ProcessorRef = { kind: "ecs" } | { kind: "lambda"; functionName: string };

export interface MonitorProps {
  albArnSuffix: string;
  /** Target groups of the web roles, by role. */
  targetGroups: Partial<Record<Role, TargetGroupRef>>;
  queueName: string;
  deadLetterQueueName: string;
  clusterName: string;
  serviceNames: Partial<Record<Role, string>>;
  processor: ProcessorRef;
  oldestMessageSeconds: number;
  errorRatePercent: number;
  database: { identifier: string; allocatedGb: number };
  /** ElastiCache node ids of the replication group (`<group>-001`, …): Redis metrics are per node. */
  cacheNodeIds: string[];
}

/** Thresholds of the health alarms: sustained, not a spike. */
export const HEALTH = {
  /** A service below its desired count this long: tasks fail to start or crash-loop. */
  runningBelowDesiredMinutes: 5,
  unhealthyHostMinutes: 3,
  cpuPercent: 80,
  redisMemoryPercent: 80,
  /** Free storage below this share of the allocation (autoscaling storage may not keep up). */
  databaseFreeStorageShare: 0.1,
} as const;

/** Application metrics that only the binary knows, lifted from its JSON log lines by metric filters. */
export const LOG_METRICS = {
  bids: {
    role: "bidder",
    metric: "BidsAccepted",
    // Every request is logged as {"msg":"request",...}; a 201 to a path under /api/v1/items/ is an accepted bid.
    pattern: '{ $.msg = "request" && $.method = "POST" && $.status = 201 && $.path = "/api/v1/items/*" }',
    value: "1",
  },
  wsConnections: {
    role: "broadcaster",
    metric: "WebSocketConnections",
    // Each broadcaster task logs its open connections periodically with a `ws_connections` field.
    pattern: "{ $.ws_connections >= 0 }",
    value: "$.ws_connections",
  },
  archiverLag: {
    role: "archiver",
    metric: "ArchiverLagMs",
    // The archiver logs `archive_lag_ms` (event time to commit) after each batch.
    pattern: "{ $.archive_lag_ms >= 0 }",
    value: "$.archive_lag_ms",
  },
} as const satisfies Record<string, { role: Role; metric: string; pattern: string; value: string }>;

const PERIOD_S = 60;

/** An alarm on a count that should stay zero: any minute above it pages (dead letters, function errors). */
export const ANY_IN_A_MINUTE = {
  period: PERIOD_S,
  evaluationPeriods: 1,
  comparisonOperator: "GreaterThanThreshold",
  threshold: 0,
  treatMissingData: "notBreaching",
} as const;

/**
 * Logs, the dashboard and the alarms. Log groups exist before the services (the awslogs driver does not
 * create them); the dashboard and alarms are added by `monitor` once the resources they watch exist.
 */
export class Observability extends Construct {
  private readonly logGroups: Partial<Record<Role, { name: string; arn: string }>> = {};
  readonly alertsTopicArn: string;
  readonly namespace: string;
  private readonly props: ObservabilityProps;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    this.props = props;
    this.namespace = `Shop/${props.prefix}`;
    for (const role of props.roles) {
      const group = new CloudwatchLogGroup(this, `logs-${role}`, {
        name: `/ecs/${props.prefix}/${role}`,
        retentionInDays: props.retentionDays,
      });
      this.logGroups[role] = { name: group.name, arn: group.arn };
    }

    for (const [key, m] of Object.entries(LOG_METRICS)) {
      new CloudwatchLogMetricFilter(this, `metric-${key}`, {
        name: `${props.prefix}-${m.metric}`,
        logGroupName: this.logGroup(m.role).name,
        pattern: m.pattern,
        metricTransformation: { name: m.metric, namespace: this.namespace, value: m.value },
      });
    }

    // Alarm payloads carry only names and thresholds; CloudWatch cannot publish to a topic under the
    // AWS-managed SNS key, and a customer key's policy is not worth it for that content.
    const alerts = new SnsTopic(this, "alerts", { name: `${props.prefix}-alerts` });
    this.alertsTopicArn = alerts.arn;
    if (props.alarmEmail) {
      new SnsTopicSubscription(this, "alerts-email", {
        topicArn: alerts.arn,
        protocol: "email",
        endpoint: props.alarmEmail,
      });
    }
  }

  /** The log group of a role that runs as an ECS service. */
  logGroup(role: Role): { name: string; arn: string } {
    const group = this.logGroups[role];
    if (!group) throw new Error(`observability: no log group for ${role}, which runs no ECS service`);
    return group;
  }

  monitor(m: MonitorProps): void {
    const { prefix, region } = this.props;
    const lb = { LoadBalancer: m.albArnSuffix };
    const web = Object.entries(m.targetGroups) as [Role, TargetGroupRef][];
    const perTarget = (metric: string, stat: string) =>
      web.map(([role, tg]) => [
        "AWS/ApplicationELB",
        metric,
        "TargetGroup",
        tg.arnSuffix,
        "LoadBalancer",
        m.albArnSuffix,
        { stat, label: role },
      ]);
    const queue = (metric: string, name: string, options: Record<string, unknown> = {}) => [
      "AWS/SQS",
      metric,
      "QueueName",
      name,
      { stat: "Maximum", ...options },
    ];
    const widget = (title: string, metrics: unknown[], extra: Record<string, unknown> = {}) => ({
      type: "metric",
      width: 12,
      height: 6,
      properties: { title, region, period: PERIOD_S, view: "timeSeries", metrics, ...extra },
    });
    const custom = (metric: string, stat: string, label: string) => [this.namespace, metric, { stat, label }];

    new CloudwatchDashboard(this, "dashboard", {
      dashboardName: prefix,
      dashboardBody: JSON.stringify({
        widgets: [
          widget("Requests per minute by role", perTarget("RequestCount", "Sum")),
          widget("p99 latency (s) by role", perTarget("TargetResponseTime", "p99")),
          widget("5xx by role", [
            ...perTarget("HTTPCode_Target_5XX_Count", "Sum"),
            ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", m.albArnSuffix, { stat: "Sum" }],
          ]),
          widget("Orders queue: depth and oldest message age (s)", [
            queue("ApproximateNumberOfMessagesVisible", m.queueName),
            queue("ApproximateNumberOfMessagesNotVisible", m.queueName),
            queue("ApproximateAgeOfOldestMessage", m.queueName, { yAxis: "right" }),
          ]),
          widget("Dead letters", [queue("ApproximateNumberOfMessagesVisible", m.deadLetterQueueName)]),
          widget("Bids per second", [
            [{ expression: "m1 / PERIOD(m1)", label: "bids/s", id: "e1" }],
            [this.namespace, LOG_METRICS.bids.metric, { stat: "Sum", id: "m1", visible: false }],
          ]),
          widget("WebSocket connections", [custom(LOG_METRICS.wsConnections.metric, "Sum", "connections")]),
          widget("Archiver lag (ms)", [custom(LOG_METRICS.archiverLag.metric, "Maximum", "lag")]),
          ...(m.processor.kind === "lambda"
            ? [lambdaWidget(m.processor.functionName, (title, metrics) => widget(title, metrics))]
            : []),
          widget(
            "Running tasks by role",
            Object.entries(m.serviceNames).map(([role, service]) => [
              "ECS/ContainerInsights",
              "RunningTaskCount",
              "ClusterName",
              m.clusterName,
              "ServiceName",
              service,
              { stat: "Average", label: role },
            ]),
          ),
        ],
      }),
    });

    const actions = { alarmActions: [this.alertsTopicArn], okActions: [this.alertsTopicArn] };
    new CloudwatchMetricAlarm(this, "alarm-dead-letters", {
      alarmName: `${prefix}-orders-dead-letters`,
      alarmDescription: "Orders reached the dead-letter queue: inspect, fix, then redrive",
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: m.deadLetterQueueName },
      statistic: "Maximum",
      ...ANY_IN_A_MINUTE,
      ...actions,
    });
    new CloudwatchMetricAlarm(this, "alarm-oldest-message", {
      alarmName: `${prefix}-orders-oldest-message`,
      alarmDescription:
        m.processor.kind === "lambda"
          ? "Orders wait too long: the processor function is failing, throttled or capped by the mapping's maximum concurrency"
          : "Orders wait too long: the processor is down, stuck or cannot keep up",
      namespace: "AWS/SQS",
      metricName: "ApproximateAgeOfOldestMessage",
      dimensions: { QueueName: m.queueName },
      statistic: "Maximum",
      period: PERIOD_S,
      evaluationPeriods: 3,
      comparisonOperator: "GreaterThanThreshold",
      threshold: m.oldestMessageSeconds,
      treatMissingData: "notBreaching",
      ...actions,
    });
    const alarm = (
      id: string,
      config: Omit<ConstructorParameters<typeof CloudwatchMetricAlarm>[2], "alarmName">,
    ) =>
      new CloudwatchMetricAlarm(this, `alarm-${id}`, {
        alarmName: `${prefix}-${id}`,
        treatMissingData: "notBreaching",
        ...actions,
        ...config,
      });
    for (const [role, tg] of web) {
      alarm(`${role}-unhealthy-hosts`, {
        alarmDescription: `${role}: a target failed its /ready check for ${HEALTH.unhealthyHostMinutes} minutes`,
        namespace: "AWS/ApplicationELB",
        metricName: "UnHealthyHostCount",
        dimensions: { TargetGroup: tg.arnSuffix, LoadBalancer: m.albArnSuffix },
        statistic: "Maximum",
        period: PERIOD_S,
        evaluationPeriods: HEALTH.unhealthyHostMinutes,
        comparisonOperator: "GreaterThanThreshold",
        threshold: 0,
      });
    }
    for (const [role, service] of Object.entries(m.serviceNames)) {
      const dims = { ClusterName: m.clusterName, ServiceName: service };
      const insight = (id: string, metricName: string) => ({
        id,
        metric: {
          namespace: "ECS/ContainerInsights",
          metricName,
          dimensions: dims,
          period: PERIOD_S,
          stat: "Average",
        },
      });
      alarm(`${role}-running-below-desired`, {
        alarmDescription: `${role}: fewer tasks running than desired for ${HEALTH.runningBelowDesiredMinutes} minutes`,
        comparisonOperator: "GreaterThanThreshold",
        threshold: 0,
        evaluationPeriods: HEALTH.runningBelowDesiredMinutes,
        // No data means no service metrics at all, which is itself wrong.
        treatMissingData: "breaching",
        metricQuery: [
          insight("desired", "DesiredTaskCount"),
          insight("running", "RunningTaskCount"),
          { id: "missing", expression: "desired - running", label: "tasks missing", returnData: true },
        ],
      });
    }
    const db = { DBInstanceIdentifier: m.database.identifier };
    alarm("postgres-cpu", {
      alarmDescription: `PostgreSQL CPU above ${HEALTH.cpuPercent}% for 10 minutes`,
      namespace: "AWS/RDS",
      metricName: "CPUUtilization",
      dimensions: db,
      statistic: "Average",
      period: PERIOD_S,
      evaluationPeriods: 10,
      comparisonOperator: "GreaterThanThreshold",
      threshold: HEALTH.cpuPercent,
    });
    alarm("postgres-free-storage", {
      alarmDescription: `PostgreSQL free storage below ${HEALTH.databaseFreeStorageShare * 100}% of ${m.database.allocatedGb} GB`,
      namespace: "AWS/RDS",
      metricName: "FreeStorageSpace",
      dimensions: db,
      statistic: "Minimum",
      period: PERIOD_S,
      evaluationPeriods: 5,
      comparisonOperator: "LessThanThreshold",
      threshold: m.database.allocatedGb * 1e9 * HEALTH.databaseFreeStorageShare,
    });
    for (const node of m.cacheNodeIds) {
      const dims = { CacheClusterId: node };
      alarm(`redis-${node.slice(-3)}-cpu`, {
        alarmDescription: `Redis ${node}: engine CPU above ${HEALTH.cpuPercent}% for 10 minutes`,
        namespace: "AWS/ElastiCache",
        metricName: "EngineCPUUtilization",
        dimensions: dims,
        statistic: "Average",
        period: PERIOD_S,
        evaluationPeriods: 10,
        comparisonOperator: "GreaterThanThreshold",
        threshold: HEALTH.cpuPercent,
      });
      alarm(`redis-${node.slice(-3)}-memory`, {
        alarmDescription: `Redis ${node}: memory above ${HEALTH.redisMemoryPercent}% (auction books and stream)`,
        namespace: "AWS/ElastiCache",
        metricName: "DatabaseMemoryUsagePercentage",
        dimensions: dims,
        statistic: "Maximum",
        period: PERIOD_S,
        evaluationPeriods: 5,
        comparisonOperator: "GreaterThanThreshold",
        threshold: HEALTH.redisMemoryPercent,
      });
    }

    const albMetric = (id: string, metricName: string) => ({
      id,
      metric: { namespace: "AWS/ApplicationELB", metricName, dimensions: lb, period: PERIOD_S, stat: "Sum" },
    });
    new CloudwatchMetricAlarm(this, "alarm-5xx-rate", {
      alarmName: `${prefix}-5xx-rate`,
      alarmDescription: `More than ${m.errorRatePercent}% of requests answered 5xx (targets and ALB)`,
      comparisonOperator: "GreaterThanThreshold",
      threshold: m.errorRatePercent,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      treatMissingData: "notBreaching",
      metricQuery: [
        albMetric("target5xx", "HTTPCode_Target_5XX_Count"),
        albMetric("elb5xx", "HTTPCode_ELB_5XX_Count"),
        albMetric("requests", "RequestCount"),
        {
          id: "rate",
          expression: "100 * (FILL(target5xx, 0) + FILL(elb5xx, 0)) / requests",
          label: "5xx %",
          returnData: true,
        },
      ],
      ...actions,
    });
  }
}

/** The processor function at a glance: invocations and their failures, concurrency, duration. */
function lambdaWidget(functionName: string, widget: (title: string, metrics: unknown[]) => unknown) {
  const fn = (metric: string, stat: string, options: Record<string, unknown> = {}) => [
    "AWS/Lambda",
    metric,
    "FunctionName",
    functionName,
    { stat, ...options },
  ];
  return widget("Processor function: invocations, errors, throttles, concurrency, p99 duration (ms)", [
    fn("Invocations", "Sum"),
    fn("Errors", "Sum"),
    fn("Throttles", "Sum"),
    fn("ConcurrentExecutions", "Maximum"),
    fn("Duration", "p99", { yAxis: "right" }),
  ]);
}
