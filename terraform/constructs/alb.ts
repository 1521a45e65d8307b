import { Lb } from "@cdktn/provider-aws/lib/lb";
import { LbListener } from "@cdktn/provider-aws/lib/lb-listener";
import { LbListenerRule } from "@cdktn/provider-aws/lib/lb-listener-rule";
import { LbTargetGroup } from "@cdktn/provider-aws/lib/lb-target-group";
import { SecurityGroup } from "@cdktn/provider-aws/lib/security-group";
import { VpcSecurityGroupEgressRule } from "@cdktn/provider-aws/lib/vpc-security-group-egress-rule";
import { VpcSecurityGroupIngressRule } from "@cdktn/provider-aws/lib/vpc-security-group-ingress-rule";
import type { ITerraformDependable } from "cdktn";
import { Construct } from "constructs";

export interface AlbRoute {
  /** The role name: target group and rule ids derive from it. */
  name: string;
  /** Path patterns; `default` makes this the listener's default action. */
  paths: readonly string[] | "default";
}

export interface AlbProps {
  prefix: string;
  vpcId: string;
  subnetIds: string[];
  /** HTTPS on 443 (and HTTP → HTTPS redirect) when set; plain HTTP on 80 otherwise. */
  certificateArn?: string;
  appPort: number;
  healthCheckPath: string;
  idleTimeoutSeconds: number;
  deregistrationDelaySeconds: number;
  deletionProtection: boolean;
  routes: readonly AlbRoute[];
  /** Writes access logs to this bucket (after `dependsOn`, its policy) when set. */
  accessLogs?: { bucket: string; prefix: string; dependsOn: ITerraformDependable[] };
}

export interface TargetGroupRef {
  arn: string;
  arnSuffix: string;
}

const HTTP = 80;
const HTTPS = 443;
const INTERNET = "0.0.0.0/0";

/**
 * The only thing reachable from the internet. Routes by path to one target group per web role; targets are
 * healthy only while /ready answers 200, so a draining task leaves the rotation before it stops listening.
 */
export class Alb extends Construct {
  readonly securityGroupId: string;
  readonly dnsName: string;
  readonly arn: string;
  readonly arnSuffix: string;
  readonly https: boolean;
  readonly targetGroups: Map<string, TargetGroupRef>;
  /** Services must be created after the rules that attach their target groups to the load balancer. */
  readonly routing: ITerraformDependable[] = [];
  private readonly appPort: number;

  constructor(scope: Construct, id: string, props: AlbProps) {
    super(scope, id);
    this.appPort = props.appPort;
    this.https = props.certificateArn !== undefined;
    const sg = new SecurityGroup(this, "sg", {
      name: `${props.prefix}-alb`,
      description: "ALB: HTTP/HTTPS from the internet, app port to web tasks only",
      vpcId: props.vpcId,
      tags: { Name: `${props.prefix}-alb` },
    });
    this.securityGroupId = sg.id;
    const openPorts = this.https ? [HTTP, HTTPS] : [HTTP];
    for (const port of openPorts) {
      new VpcSecurityGroupIngressRule(this, `internet-${port}`, {
        securityGroupId: sg.id,
        cidrIpv4: INTERNET,
        ipProtocol: "tcp",
        fromPort: port,
        toPort: port,
        description: `Internet to the ALB on ${port}`,
      });
    }

    const lb = new Lb(this, "alb", {
      name: props.prefix,
      loadBalancerType: "application",
      internal: false,
      subnets: props.subnetIds,
      securityGroups: [sg.id],
      idleTimeout: props.idleTimeoutSeconds,
      dropInvalidHeaderFields: true,
      enableDeletionProtection: props.deletionProtection,
      ...(props.accessLogs
        ? {
            accessLogs: { bucket: props.accessLogs.bucket, prefix: props.accessLogs.prefix, enabled: true },
            dependsOn: props.accessLogs.dependsOn,
          }
        : {}),
    });
    this.dnsName = lb.dnsName;
    this.arn = lb.arn;
    this.arnSuffix = lb.arnSuffix;

    this.targetGroups = new Map();
    for (const route of props.routes) {
      const tg = new LbTargetGroup(this, `tg-${route.name}`, {
        name: `${props.prefix}-${route.name}`,
        port: props.appPort,
        protocol: "HTTP",
        targetType: "ip",
        vpcId: props.vpcId,
        deregistrationDelay: String(props.deregistrationDelaySeconds),
        healthCheck: {
          path: props.healthCheckPath,
          matcher: "200",
          interval: 10,
          timeout: 5,
          healthyThreshold: 2,
          unhealthyThreshold: 3,
        },
      });
      this.targetGroups.set(route.name, { arn: tg.arn, arnSuffix: tg.arnSuffix });
    }
    const defaults = props.routes.filter((r) => r.paths === "default");
    const fallback = defaults[0];
    if (defaults.length !== 1 || !fallback) throw new Error("exactly one ALB route must be the default");
    const forwardTo = (name: string) => ({ type: "forward", targetGroupArn: this.targetGroup(name).arn });

    const main = new LbListener(this, this.https ? "https" : "http", {
      loadBalancerArn: lb.arn,
      port: this.https ? HTTPS : HTTP,
      protocol: this.https ? "HTTPS" : "HTTP",
      ...(this.https
        ? { certificateArn: props.certificateArn, sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06" }
        : {}),
      defaultAction: [forwardTo(fallback.name)],
    });
    this.routing.push(main);
    if (this.https) {
      new LbListener(this, "http-redirect", {
        loadBalancerArn: lb.arn,
        port: HTTP,
        protocol: "HTTP",
        defaultAction: [
          { type: "redirect", redirect: { port: String(HTTPS), protocol: "HTTPS", statusCode: "HTTP_301" } },
        ],
      });
    }
    let priority = 10;
    for (const route of props.routes) {
      if (route.paths === "default") continue;
      this.routing.push(
        new LbListenerRule(this, `rule-${route.name}`, {
          listenerArn: main.arn,
          priority,
          action: [forwardTo(route.name)],
          condition: [{ pathPattern: { values: [...route.paths] } }],
        }),
      );
      priority += 10;
    }
  }

  targetGroup(name: string): TargetGroupRef {
    const tg = this.targetGroups.get(name);
    if (!tg) throw new Error(`no ALB target group for ${name}`);
    return tg;
  }

  /** Opens the app port from the ALB to one role's tasks, in both security groups, and nowhere else. */
  allowTo(name: string, taskSecurityGroupId: string): void {
    new VpcSecurityGroupEgressRule(this, `to-${name}`, {
      securityGroupId: this.securityGroupId,
      referencedSecurityGroupId: taskSecurityGroupId,
      ipProtocol: "tcp",
      fromPort: this.appPort,
      toPort: this.appPort,
      description: `ALB to ${name} tasks`,
    });
    new VpcSecurityGroupIngressRule(this, `into-${name}`, {
      securityGroupId: taskSecurityGroupId,
      referencedSecurityGroupId: this.securityGroupId,
      ipProtocol: "tcp",
      fromPort: this.appPort,
      toPort: this.appPort,
      description: `ALB to ${name} tasks`,
    });
  }
}
