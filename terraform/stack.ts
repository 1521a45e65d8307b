import { DataAwsCallerIdentity } from "@cdktn/provider-aws/lib/data-aws-caller-identity";
import { AwsProvider } from "@cdktn/provider-aws/lib/provider";
import { Fn, S3Backend, TerraformOutput, TerraformStack, TerraformVariable } from "cdktn";
import type { Construct } from "constructs";
import { CAPACITY, DEFAULT_NOFILE, nofileLimit } from "./capacity.ts";
import {
  APP,
  type AppNeeds,
  albIdleTimeoutSeconds,
  deregistrationDelaySeconds,
  type EnvConfig,
  ecsRoles,
  LAMBDA_IMAGE_TAG_SUFFIX,
  lambdaOrderReserveMs,
  lambdaProcessorNeeds,
  POSTGRES_MAJOR,
  queueVisibilitySeconds,
  REQUIRED_TERRAFORM,
  type Role,
  roleNeeds,
  stopTimeoutSeconds,
} from "./config.ts";
import { AccessLogs, ALB_LOG_PREFIX } from "./constructs/access-logs.ts";
import { Alb } from "./constructs/alb.ts";
import { Cache, REDIS_PORT } from "./constructs/cache.ts";
import { Cluster } from "./constructs/cluster.ts";
import { Data } from "./constructs/data.ts";
import { APP_SCHEMA, APP_USER, Database, POSTGRES_PORT } from "./constructs/database.ts";
import { DbBootstrap } from "./constructs/db-bootstrap.ts";
import { Ecr } from "./constructs/ecr.ts";
import { appStatements, Iam } from "./constructs/iam.ts";
import { LambdaProcessor } from "./constructs/lambda-processor.ts";
import { Messaging } from "./constructs/messaging.ts";
import { Network } from "./constructs/network.ts";
import { Observability, type ProcessorRef } from "./constructs/observability.ts";
import { GeneratedSecret, OperatorSecret } from "./constructs/secret.ts";
import { Service, type ServiceScaling } from "./constructs/service.ts";
import { Waf } from "./constructs/waf.ts";

/** Receives after which a message is a dead letter: enough for transient failures, bounded for poison. */
export const MAX_RECEIVE_COUNT = 5;

/** Where the synthesized stack sits relative to the repository root: terraform/cdktf.out/stacks/<env>. */
export const DEFAULT_REPOSITORY_ROOT = "../../../..";

export interface StackOptions {
  /** Path from the stack's directory to the repository root (local-exec runs scripts/ from there). */
  repositoryRoot?: string;
}

/**
 * One environment of shop: every role as its own ECS service behind one ALB, with its data stores; in
 * "lambda" processor mode the processor is a Lambda function fed by the orders queue instead of a service.
 */
export class ShopStack extends TerraformStack {
  constructor(scope: Construct, env: EnvConfig, options: StackOptions = {}) {
    super(scope, env.name);
    const prefix = `shop-${env.name}`;
    const prod = env.deletionProtection;
    const needs = roleNeeds(env);
    const services = ecsRoles(env);
    if (!env.state.bucket)
      throw new Error(`${env.name}: no state bucket (validate() says which variable to set)`);

    this.addOverride("terraform.required_version", REQUIRED_TERRAFORM);
    new AwsProvider(this, "aws", {
      region: env.region,
      defaultTags: [{ tags: { Project: "shop", Environment: env.name, ManagedBy: "cdktn" } }],
    });
    new S3Backend(this, {
      bucket: env.state.bucket,
      key: `shop/${env.name}/terraform.tfstate`,
      region: env.state.region,
      encrypt: true,
      ...(env.state.lock.kind === "s3" ? { useLockfile: true } : { dynamodbTable: env.state.lock.table }),
    });

    const imageTag = new TerraformVariable(this, "image_tag", {
      type: "string",
      description: "Image tag to run on every service: the git SHA the deploy workflow pushed",
    });
    imageTag.addValidation({
      condition: Fn.can(Fn.regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", imageTag.stringValue)),
      errorMessage: "image_tag must be a valid Docker tag (the deploy workflow passes the git SHA)",
    });
    if (env.processorMode === "lambda") {
      imageTag.addValidation({
        condition: `\${length(${imageTag.fqn}) <= ${128 - LAMBDA_IMAGE_TAG_SUFFIX.length}}`,
        errorMessage: `image_tag must leave room for the function's tag suffix "${LAMBDA_IMAGE_TAG_SUFFIX}" (128 characters in all)`,
      });
    }

    const accountId = new DataAwsCallerIdentity(this, "account", {}).accountId;
    const network = new Network(this, "network", {
      prefix,
      region: env.region,
      cidr: env.vpcCidr,
      azCount: env.azCount,
      natGateways: env.natGateways,
      interfaceEndpoints: env.interfaceEndpoints,
      ...(env.edge.flowLogs ? { flowLogRetentionDays: env.logRetentionDays } : {}),
      accountId,
    });
    const ecr = new Ecr(this, "ecr", { prefix, forceDelete: !prod, keepImages: 30 });
    const cluster = new Cluster(this, "cluster", { prefix });
    const messaging = new Messaging(this, "messaging", {
      prefix,
      visibilityTimeoutSeconds: queueVisibilitySeconds(env),
      maxReceiveCount: MAX_RECEIVE_COUNT,
    });
    const data = new Data(this, "data", { prefix, deletionProtection: prod });

    const secret = (id: string, name: string, description: string) =>
      new GeneratedSecret(this, id, {
        name: `${prefix}/${name}`,
        description,
        recoveryWindowDays: prod ? 30 : 0,
        version: 1,
      });
    const redisToken = secret(
      "redis-auth-token",
      "redis-auth-token",
      "ElastiCache AUTH token (REDIS_PASSWORD)",
    );
    const adminToken = secret("admin-token", "admin-token", "Bearer token for admin endpoints (ADMIN_TOKEN)");
    // API_KEYS (docs/security.md): no key but ADMIN_TOKEN until operators store theirs; "[]" still enforces
    // credentials, so a deployed process never runs open. Tasks read it at start: a change needs a new deploy.
    const apiKeys = new OperatorSecret(this, "api-keys", {
      name: `${prefix}/api-keys`,
      description: 'API keys (API_KEYS): JSON [{"name", "key_sha256", "scopes"}]',
      recoveryWindowDays: prod ? 30 : 0,
      initial: "[]",
    });
    const jwt = {
      JWT_ISSUER: new TerraformVariable(this, "jwt_issuer", {
        type: "string",
        default: "",
        description: "iss of the JWT bearer tokens shop accepts; empty: API keys only",
      }),
      JWT_AUDIENCE: new TerraformVariable(this, "jwt_audience", {
        type: "string",
        default: "",
        description: "aud the tokens must carry (with jwt_issuer)",
      }),
      JWT_JWKS_URL: new TerraformVariable(this, "jwt_jwks_url", {
        type: "string",
        default: "",
        description: "The issuer's JWKS URL, the only source of signing keys (with jwt_issuer)",
      }),
    };

    const cache = new Cache(this, "cache", {
      prefix,
      vpcId: network.vpcId,
      subnetIds: network.privateSubnetIds,
      nodeType: env.cache.nodeType,
      replicas: env.cache.replicas,
      authToken: redisToken,
      snapshotRetentionDays: prod ? 7 : 0,
      applyImmediately: !prod,
    });
    const database = new Database(this, "database", {
      prefix,
      region: env.region,
      accountId,
      caFile: APP.rdsCaFile,
      engineMajor: POSTGRES_MAJOR,
      vpcId: network.vpcId,
      subnetIds: network.privateSubnetIds,
      ...env.database,
      deletionProtection: prod,
    });

    const webRoles = services.filter((r) => needs[r].routes !== "none");
    const accessLogs = env.edge.accessLogs
      ? new AccessLogs(this, "access-logs", {
          prefix,
          accountId,
          retentionDays: env.logRetentionDays,
          forceDestroy: !prod,
        })
      : undefined;
    const alb = new Alb(this, "alb", {
      prefix,
      vpcId: network.vpcId,
      subnetIds: network.publicSubnetIds,
      certificateArn: env.certificateArn,
      appPort: APP.port,
      healthCheckPath: APP.readyPath,
      idleTimeoutSeconds: albIdleTimeoutSeconds(),
      deregistrationDelaySeconds: deregistrationDelaySeconds(env),
      deletionProtection: prod,
      routes: services.flatMap((name) => {
        const paths = needs[name].routes;
        return paths === "none" ? [] : [{ name, paths }];
      }),
      ...(accessLogs
        ? { accessLogs: { bucket: accessLogs.bucket, prefix: ALB_LOG_PREFIX, dependsOn: [accessLogs.ready] } }
        : {}),
    });
    if (env.edge.waf) {
      new Waf(this, "waf", {
        prefix,
        albArn: alb.arn,
        requestsPerIpPer5Min: env.edge.waf.requestsPerIpPer5Min,
      });
    }

    const observability = new Observability(this, "observability", {
      prefix,
      region: env.region,
      roles: services,
      retentionDays: env.logRetentionDays,
      alarmEmail: env.alarms.email,
    });

    // The master password is not among them: only the bootstrap task reads it.
    const secretArns = (n: AppNeeds) => [
      apiKeys.arn,
      ...(n.redis ? [redisToken.arn] : []),
      ...(n.adminToken ? [adminToken.arn] : []),
    ];
    const appResources = {
      tables: data.tables,
      topicArn: messaging.topicArn,
      queueArn: messaging.queueArn,
      databaseUserArn: database.appUserArn,
    };
    const iam = new Iam(this, "iam", {
      prefix,
      region: env.region,
      accountId,
      repositoryArn: ecr.repositoryArn,
      ...appResources,
      tracing: env.tracing.enabled,
      roles: mapRoles(services, (r) => ({
        needs: needs[r],
        logGroupArn: observability.logGroup(r).arn,
        secretArns: secretArns(needs[r]),
      })),
    });

    /** The variables for what a process of the binary uses: the same for an ECS task and the function. */
    const appEnvironment = (n: AppNeeds): Record<string, string> => {
      const vars: Record<string, string> = {};
      for (const t of n.tables) vars[data.tables[t].variable] = data.tables[t].name;
      if (n.redis) vars.REDIS_URL = cache.url;
      if (n.postgres) {
        vars.DATABASE_URL = database.url;
        vars.DATABASE_AUTH = "iam";
        vars.DATABASE_SCHEMA = APP_SCHEMA;
      }
      if (n.publishOrders) vars.SNS_TOPIC_ARN = messaging.topicArn;
      if (n.consumeOrders || n.retryOrders) {
        vars.SQS_QUEUE_URL = messaging.queueUrl;
        vars.PROCESSOR_CONCURRENCY = String(env.app.processorConcurrency);
      }
      if (n.publishOrders || n.consumeOrders || n.retryOrders) {
        vars.PAYMENT_SIM_MS = String(APP.paymentSimMs);
        vars.PAYMENT_CONCURRENCY = String(env.app.paymentConcurrency);
      }
      return vars;
    };
    const environment = (role: Role): Record<string, string> => ({
      AWS_REGION: env.region,
      PORT: String(APP.port),
      LOG_LEVEL: env.app.logLevel,
      SHUTDOWN_DRAIN_MS: String(env.app.shutdownDrainMs),
      SHUTDOWN_TIMEOUT_MS: String(env.app.shutdownTimeoutMs),
      ...appEnvironment(needs[role]),
      ...(role === "bidder" ? { BID_STRATEGY: env.app.bidStrategy } : {}),
      ...(role === "broadcaster" ? { WS_PING_MS: String(APP.wsPingMs) } : {}),
      // Empty means unset to shop: API keys only until the variables are given.
      ...Object.fromEntries(Object.entries(jwt).map(([name, v]) => [name, v.stringValue])),
      // Behind the ALB the peer is the balancer; the client is the address it appends to X-Forwarded-For.
      ...(needs[role].routes !== "none" ? { TRUST_PROXY: "true" } : {}),
    });
    const secrets = (role: Role): Record<string, string> => {
      const n = needs[role];
      return {
        API_KEYS: apiKeys.arn,
        ...(n.redis ? { REDIS_PASSWORD: redisToken.arn } : {}),
        ...(n.adminToken ? { ADMIN_TOKEN: adminToken.arn } : {}),
      };
    };
    const scaling = (role: Role): ServiceScaling => {
      const s = needs[role].scaling;
      if (s.kind === "requests") {
        return { ...s, albArnSuffix: alb.arnSuffix, targetGroupArnSuffix: alb.targetGroup(role).arnSuffix };
      }
      if (s.kind === "backlog") return { ...s, queueName: messaging.queueName };
      return s;
    };

    const image = `${ecr.repositoryUrl}:${imageTag.stringValue}`;
    const bootstrap = new DbBootstrap(this, "db-bootstrap", {
      prefix,
      region: env.region,
      accountId,
      vpcId: network.vpcId,
      subnetIds: network.privateSubnetIds,
      clusterArn: cluster.arn,
      image,
      architecture: env.fargate.architecture,
      repositoryArn: ecr.repositoryArn,
      retentionDays: env.logRetentionDays,
      user: APP.user,
      nofile: DEFAULT_NOFILE,
      database: {
        adminUrl: database.adminUrl,
        passwordValueFrom: database.passwordValueFrom,
        secretArn: database.secretArn,
        securityGroupId: database.securityGroupId,
        port: POSTGRES_PORT,
        resourceId: database.resourceId,
        appUser: APP_USER,
        appSchema: APP_SCHEMA,
      },
      repositoryRoot: options.repositoryRoot ?? DEFAULT_REPOSITORY_ROOT,
      networkReady: network.egress,
    });
    database.allowFrom("db-bootstrap", bootstrap.task.securityGroupId);

    const spot = (role: Role) =>
      !env.fargate.spot.includes(role) ? "none" : env.name === "prod" ? "above-min" : "all";
    const ecsServices = new Map<Role, Service>();
    for (const role of services) {
      const n = needs[role];
      const service = new Service(this, `service-${role}`, {
        prefix,
        role,
        region: env.region,
        clusterArn: cluster.arn,
        clusterName: cluster.name,
        vpcId: network.vpcId,
        subnetIds: network.privateSubnetIds,
        image,
        port: APP.port,
        size: env.roles[role],
        architecture: env.fargate.architecture,
        spot: spot(role),
        user: APP.user,
        nofile:
          role === "broadcaster"
            ? nofileLimit(CAPACITY.roles.broadcaster.connectionsPerTask)
            : DEFAULT_NOFILE,
        environment: environment(role),
        secrets: secrets(role),
        taskRoleArn: iam.taskRoleArn(role),
        executionRoleArn: iam.executionRoleArn(role),
        logGroupName: observability.logGroup(role).name,
        healthCheckCommand: APP.healthCheckCommand,
        stopTimeoutSeconds: stopTimeoutSeconds(env),
        ...(env.tracing.enabled
          ? { tracing: { sampleRatio: env.tracing.sampleRatio, environmentName: env.name } }
          : {}),
        ...(n.routes !== "none"
          ? { loadBalancer: { targetGroupArn: alb.targetGroup(role).arn, dependsOn: alb.routing } }
          : {}),
        ...(n.postgres ? { dependsOn: [bootstrap.ready] } : {}),
        scaling: scaling(role),
      });
      if (n.routes !== "none") alb.allowTo(role, service.securityGroupId);
      if (n.redis) {
        cache.allowFrom(role, service.securityGroupId);
        service.allowEgressTo("redis", cache.securityGroupId, REDIS_PORT);
      }
      if (n.postgres) {
        database.allowFrom(role, service.securityGroupId);
        service.allowEgressTo("postgres", database.securityGroupId, POSTGRES_PORT);
      }
      ecsServices.set(role, service);
    }

    let processor: ProcessorRef = { kind: "ecs" };
    if (env.processorMode === "lambda") {
      const lambdaNeeds = lambdaProcessorNeeds();
      const fn = new LambdaProcessor(this, "lambda-processor", {
        prefix,
        region: env.region,
        imageUri: `${image}${LAMBDA_IMAGE_TAG_SUFFIX}`,
        architecture: env.fargate.architecture === "ARM64" ? "arm64" : "x86_64",
        repository: { name: prefix, arn: ecr.repositoryArn },
        queue: { arn: messaging.queueArn, name: messaging.queueName },
        queueVisibilitySeconds: queueVisibilitySeconds(env),
        sizing: env.lambda,
        orderReserveMs: lambdaOrderReserveMs(),
        environment: { LOG_LEVEL: env.app.logLevel, ...appEnvironment(lambdaNeeds) },
        statements: appStatements(appResources, lambdaNeeds),
        logRetentionDays: env.logRetentionDays,
        alarms: { topicArn: observability.alertsTopicArn },
      });
      processor = { kind: "lambda", functionName: fn.functionName };
      new TerraformOutput(this, "processor_function_name", {
        value: fn.functionName,
        description: "The processor's Lambda function (processorMode lambda): no ECS processor service runs",
      });
    }

    observability.monitor({
      albArnSuffix: alb.arnSuffix,
      targetGroups: Object.fromEntries(webRoles.map((r) => [r, alb.targetGroup(r)])),
      queueName: messaging.queueName,
      deadLetterQueueName: messaging.deadLetterQueueName,
      clusterName: cluster.name,
      serviceNames: mapValues(ecsServices, (svc) => svc.name),
      processor,
      oldestMessageSeconds: env.alarms.oldestMessageSeconds,
      errorRatePercent: env.alarms.errorRatePercent,
      database: { identifier: database.identifier, allocatedGb: env.database.allocatedGb },
      cacheNodeIds: cache.nodeIds,
    });

    const http = alb.https ? "https" : "http";
    const ws = alb.https ? "wss" : "ws";
    new TerraformOutput(this, "api_url", {
      value: `${http}://${alb.dnsName}`,
      description: "Base URL of the API",
    });
    new TerraformOutput(this, "ws_url", {
      value: `${ws}://${alb.dnsName}/ws/items`,
      description: "WebSocket base URL; append /<itemId>",
    });
    new TerraformOutput(this, "ecr_repository_url", { value: ecr.repositoryUrl });
    new TerraformOutput(this, "cluster_name", { value: cluster.name });
    new TerraformOutput(this, "service_names", { value: mapValues(ecsServices, (svc) => svc.name) });
    new TerraformOutput(this, "task_definition_arns", {
      value: mapValues(ecsServices, (svc) => svc.taskDefinitionArn),
      description: "The task definition each service must run once the deploy has rolled out",
    });
    new TerraformOutput(this, "admin_token_secret_arn", {
      value: adminToken.arn,
      description: "Secrets Manager secret holding ADMIN_TOKEN (the deploy's smoke test reads it)",
    });
    new TerraformOutput(this, "alerts_topic_arn", { value: observability.alertsTopicArn });
  }
}

function mapRoles<T>(roles: readonly Role[], fn: (role: Role) => T): Partial<Record<Role, T>> {
  return Object.fromEntries(roles.map((r) => [r, fn(r)]));
}

function mapValues<T, U>(byRole: ReadonlyMap<Role, T>, fn: (value: T) => U): Partial<Record<Role, U>> {
  return Object.fromEntries([...byRole].map(([r, v]) => [r, fn(v)]));
}
