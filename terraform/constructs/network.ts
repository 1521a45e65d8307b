import { DataAwsAvailabilityZones } from "@cdktn/provider-aws/lib/data-aws-availability-zones";
import { DefaultSecurityGroup } from "@cdktn/provider-aws/lib/default-security-group";
import { Eip } from "@cdktn/provider-aws/lib/eip";
import { InternetGateway } from "@cdktn/provider-aws/lib/internet-gateway";
import { NatGateway } from "@cdktn/provider-aws/lib/nat-gateway";
import { Route } from "@cdktn/provider-aws/lib/route";
import { RouteTable } from "@cdktn/provider-aws/lib/route-table";
import { RouteTableAssociation } from "@cdktn/provider-aws/lib/route-table-association";
import { Subnet } from "@cdktn/provider-aws/lib/subnet";
import { Vpc } from "@cdktn/provider-aws/lib/vpc";
import { Fn } from "cdktn";
import { Construct } from "constructs";

export interface NetworkProps {
  prefix: string;
  cidr: string;
  azCount: number;
  natGateways: "one" | "per-az";
}

/**
 * A VPC over `azCount` zones: public subnets hold only the ALB and the NAT gateways; everything else lives in
 * private subnets whose egress goes through NAT. Nothing gets a public IP on launch.
 */
export class Network extends Construct {
  readonly vpcId: string;
  readonly publicSubnetIds: string[];
  readonly privateSubnetIds: string[];

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
    privateSubnets.forEach((s, i) => {
      const rt = new RouteTable(this, `private-rt-${i}`, {
        vpcId: vpc.id,
        tags: { Name: `${prefix}-private-${i}` },
      });
      const nat = nats[i % natCount];
      if (!nat) throw new Error("unreachable: natCount >= 1");
      new Route(this, `private-default-${i}`, {
        routeTableId: rt.id,
        destinationCidrBlock: "0.0.0.0/0",
        natGatewayId: nat.id,
      });
      new RouteTableAssociation(this, `private-rta-${i}`, { subnetId: s.id, routeTableId: rt.id });
    });

    this.publicSubnetIds = publicSubnets.map((s) => s.id);
    this.privateSubnetIds = privateSubnets.map((s) => s.id);
  }
}
