import { CloudwatchLogGroup } from "@cdktn/provider-aws/lib/cloudwatch-log-group";
import { DataAwsAvailabilityZones } from "@cdktn/provider-aws/lib/data-aws-availability-zones";
import { DefaultSecurityGroup } from "@cdktn/provider-aws/lib/default-security-group";
import { Eip } from "@cdktn/provider-aws/lib/eip";
import { FlowLog } from "@cdktn/provider-aws/lib/flow-log";
import { IamRole } from "@cdktn/provider-aws/lib/iam-role";
import { IamRolePolicy } from "@cdktn/provider-aws/lib/iam-role-policy";
import { InternetGateway } from "@cdktn/provider-aws/lib/internet-gateway";
import { NatGateway } from "@cdktn/provider-aws/lib/nat-gateway";
import { Route } from "@cdktn/provider-aws/lib/route";
import { RouteTable } from "@cdktn/provider-aws/lib/route-table";
import { RouteTableAssociation } from "@cdktn/provider-aws/lib/route-table-association";
import { SecurityGroup } from "@cdktn/provider-aws/lib/security-group";
import { Subnet } from "@cdktn/provider-aws/lib/subnet";
import { Vpc } from "@cdktn/provider-aws/lib/vpc";
import { VpcEndpoint } from "@cdktn/provider-aws/lib/vpc-endpoint";
import { VpcSecurityGroupIngressRule } from "@cdktn/provider-aws/lib/vpc-security-group-ingress-rule";
import { Fn, type ITerraformDependable } from "cdktn";
import { Construct } from "constructs";

export interface NetworkProps {
  prefix: string;
  region: string;
  cidr: string;
  azCount: number;
  natGateways: "one" | "per-az";
  /** Interface endpoints for the AWS APIs tasks call at start and all the time (otherwise through NAT). */
  interfaceEndpoints: boolean;
  /** VPC flow logs to CloudWatch Logs with this retention; none when undefined. */
  flowLogRetentionDays?: number;
  /** Only for the flow logs' delivery role: this account may have it assumed. */
  accountId: string;
}

/** Gateway endpoints are free: S3 (ECR image layers, ALB logs) and DynamoDB never leave the VPC. */
export const GATEWAY_ENDPOINTS = ["s3", "dynamodb"] as const;
/** Interface endpoints: image pulls, log delivery, secrets at task start, and the processor's queue. */
export const INTERFACE_ENDPOINTS = ["ecr.api", "ecr.dkr", "logs", "secretsmanager", "sqs"] as const;
const HTTPS = 443;

/**
 * A VPC over `azCount` zones: public subnets hold only the ALB and the NAT gateways; everything else lives in
 * private subnets whose egress goes through NAT, or through VPC endpoints for the AWS APIs the tasks use.
 * Nothing gets a public IP on launch.
 */
export class Network extends Construct {
  readonly vpcId: string;
  readonly publicSubnetIds: string[];
  readonly privateSubnetIds: string[];
  /** What a task in a private subnet needs to reach ECR, Logs and Secrets Manager: routes and endpoints. */
  readonly egress: ITerraformDependable[] = [];

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const { prefix, cidr, azCount } = props;
    const zones = new DataAwsAvailabilityZones(this, "zones", { state: "available" });
    const vpc = new Vpc(this, "vpc", {
      cidrBlock: cidr,
      enableDnsHostnames: true,
      enableDnsSupport: true,
      tags: { Name: prefix },
    });
    this.vpcId = vpc.id;

    // The default security group allows all traffic between its members; strip it so nothing can use it.
    new DefaultSecurityGroup(this, "default-sg", {
      vpcId: vpc.id,
      tags: { Name: `${prefix}-default-unused` },
    });

    const igw = new InternetGateway(this, "igw", { vpcId: vpc.id, tags: { Name: prefix } });
    const publicRoutes = new RouteTable(this, "public-rt", {
      vpcId: vpc.id,
      tags: { Name: `${prefix}-public` },
    });
    new Route(this, "public-default", {
      routeTableId: publicRoutes.id,
      destinationCidrBlock: "0.0.0.0/0",
      gatewayId: igw.id,
    });

    // /20 subnets: public ones from the bottom of the range, private ones from the middle, room left to grow.
    const subnet = (kind: "public" | "private", i: number) =>
      new Subnet(this, `${kind}-${i}`, {
        vpcId: vpc.id,
        availabilityZone: Fn.element(zones.names, i),
        cidrBlock: Fn.cidrsubnet(cidr, 4, kind === "public" ? i : 8 + i),
        mapPublicIpOnLaunch: false,
        tags: { Name: `${prefix}-${kind}-${i}`, Tier: kind },
      });

    const publicSubnets = Array.from({ length: azCount }, (_, i) => subnet("public", i));
    const privateSubnets = Array.from({ length: azCount }, (_, i) => subnet("private", i));
    publicSubnets.forEach((s, i) => {
      new RouteTableAssociation(this, `public-rta-${i}`, { subnetId: s.id, routeTableId: publicRoutes.id });
    });

    const natCount = props.natGateways === "one" ? 1 : azCount;
    const nats = publicSubnets.slice(0, natCount).map((publicSubnet, i) => {
      const eip = new Eip(this, `nat-eip-${i}`, { domain: "vpc", tags: { Name: `${prefix}-nat-${i}` } });
      return new NatGateway(this, `nat-${i}`, {
        allocationId: eip.allocationId,
        subnetId: publicSubnet.id,
        tags: { Name: `${prefix}-nat-${i}` },
        dependsOn: [igw],
      });
    });
    const privateRouteTables = privateSubnets.map((s, i) => {
      const rt = new RouteTable(this, `private-rt-${i}`, {
        vpcId: vpc.id,
        tags: { Name: `${prefix}-private-${i}` },
      });
      const nat = nats[i % natCount];
      if (!nat) throw new Error("unreachable: natCount >= 1");
      this.egress.push(
        new Route(this, `private-default-${i}`, {
          routeTableId: rt.id,
          destinationCidrBlock: "0.0.0.0/0",
          natGatewayId: nat.id,
        }),
        new RouteTableAssociation(this, `private-rta-${i}`, { subnetId: s.id, routeTableId: rt.id }),
      );
      return rt;
    });

    this.publicSubnetIds = publicSubnets.map((s) => s.id);
    this.privateSubnetIds = privateSubnets.map((s) => s.id);

    const service = (name: string) => `com.amazonaws.${props.region}.${name}`;
    for (const name of GATEWAY_ENDPOINTS) {
      const endpoint = new VpcEndpoint(this, `endpoint-${name}`, {
        vpcId: vpc.id,
        serviceName: service(name),
        vpcEndpointType: "Gateway",
        routeTableIds: privateRouteTables.map((rt) => rt.id),
        tags: { Name: `${prefix}-${name}` },
      });
      this.egress.push(endpoint);
    }
    if (props.interfaceEndpoints) {
      const sg = new SecurityGroup(this, "endpoints-sg", {
        name: `${prefix}-endpoints`,
        description: "VPC interface endpoints: HTTPS from inside the VPC",
        vpcId: vpc.id,
        tags: { Name: `${prefix}-endpoints` },
      });
      new VpcSecurityGroupIngressRule(this, "endpoints-https", {
        securityGroupId: sg.id,
        cidrIpv4: cidr,
        ipProtocol: "tcp",
        fromPort: HTTPS,
        toPort: HTTPS,
        description: "HTTPS from the VPC",
      });
      for (const name of INTERFACE_ENDPOINTS) {
        const endpoint = new VpcEndpoint(this, `endpoint-${name.replace(".", "-")}`, {
          vpcId: vpc.id,
          serviceName: service(name),
          vpcEndpointType: "Interface",
          privateDnsEnabled: true,
          subnetIds: this.privateSubnetIds,
          securityGroupIds: [sg.id],
          tags: { Name: `${prefix}-${name}` },
        });
        this.egress.push(endpoint);
      }
    }
    if (props.flowLogRetentionDays !== undefined) this.flowLogs(vpc.id, props);
  }

  private flowLogs(vpcId: string, props: NetworkProps): void {
    const group = new CloudwatchLogGroup(this, "flow-logs", {
      name: `/vpc/${props.prefix}/flow-logs`,
      retentionInDays: props.flowLogRetentionDays,
    });
    const role = new IamRole(this, "flow-logs-role", {
      name: `${props.prefix}-flow-logs`,
      description: "VPC flow logs delivery to CloudWatch Logs",
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Service: "vpc-flow-logs.amazonaws.com" },
            Action: "sts:AssumeRole",
            Condition: { StringEquals: { "aws:SourceAccount": props.accountId } },
          },
        ],
      }),
    });
    new IamRolePolicy(this, "flow-logs-policy", {
      name: "deliver-flow-logs",
      role: role.id,
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "DeliverFlowLogs",
            Effect: "Allow",
            Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            Resource: [`${group.arn}:*`],
          },
        ],
      }),
    });
    new FlowLog(this, "flow-log", {
      vpcId,
      trafficType: "ALL",
      logDestinationType: "cloud-watch-logs",
      logDestination: group.arn,
      iamRoleArn: role.arn,
      maxAggregationInterval: 60,
    });
  }
}
