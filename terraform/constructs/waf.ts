import { Wafv2WebAcl } from "@cdktn/provider-aws/lib/wafv2-web-acl";
import { Wafv2WebAclAssociation } from "@cdktn/provider-aws/lib/wafv2-web-acl-association";
import { Construct } from "constructs";

export interface WafProps {
  prefix: string;
  albArn: string;
  requestsPerIpPer5Min: number;
}

/**
 * AWS managed rule groups, in the order they are evaluated: addresses with a bad reputation, the common rule
 * set (OWASP-style request checks), and known bad inputs (Log4Shell and the like).
 */
export const MANAGED_RULE_GROUPS = [
  "AWSManagedRulesAmazonIpReputationList",
  "AWSManagedRulesCommonRuleSet",
  "AWSManagedRulesKnownBadInputsRuleSet",
] as const;

const visibility = (metricName: string) => ({
  cloudwatchMetricsEnabled: true,
  sampledRequestsEnabled: true,
  metricName,
});

/** A regional web ACL on the ALB: the managed rule groups, then a per-IP rate limit. */
export class Waf extends Construct {
  constructor(scope: Construct, id: string, props: WafProps) {
    super(scope, id);
    const acl = new Wafv2WebAcl(this, "acl", {
      name: props.prefix,
      scope: "REGIONAL",
      defaultAction: { allow: {} },
      visibilityConfig: visibility(props.prefix),
      rule: [
        ...MANAGED_RULE_GROUPS.map((name, i) => ({
          name,
          priority: 10 * (i + 1),
          overrideAction: { none: {} },
          // `statement` is passed through as written: Terraform's own (snake_case) names.
          statement: { managed_rule_group_statement: { vendor_name: "AWS", name } },
          visibilityConfig: visibility(`${props.prefix}-${name}`),
        })),
        {
          name: "rate-per-ip",
          priority: 100,
          action: { block: {} },
          statement: {
            rate_based_statement: {
              limit: props.requestsPerIpPer5Min,
              aggregate_key_type: "IP",
              evaluation_window_sec: 300,
            },
          },
          visibilityConfig: visibility(`${props.prefix}-rate-per-ip`),
        },
      ],
    });
    new Wafv2WebAclAssociation(this, "alb", { resourceArn: props.albArn, webAclArn: acl.arn });
  }
}
