import { DataAwsElbServiceAccount } from "@cdktn/provider-aws/lib/data-aws-elb-service-account";
import { S3Bucket } from "@cdktn/provider-aws/lib/s3-bucket";
import { S3BucketLifecycleConfiguration } from "@cdktn/provider-aws/lib/s3-bucket-lifecycle-configuration";
import { S3BucketOwnershipControls } from "@cdktn/provider-aws/lib/s3-bucket-ownership-controls";
import { S3BucketPolicy } from "@cdktn/provider-aws/lib/s3-bucket-policy";
import { S3BucketPublicAccessBlock } from "@cdktn/provider-aws/lib/s3-bucket-public-access-block";
import { S3BucketServerSideEncryptionConfigurationA } from "@cdktn/provider-aws/lib/s3-bucket-server-side-encryption-configuration";
import { Construct } from "constructs";

export interface AccessLogsProps {
  prefix: string;
  accountId: string;
  retentionDays: number;
  /** Lets `terraform destroy` delete a bucket that still holds logs. */
  forceDestroy: boolean;
}

/** Key prefix of the ALB's logs in the bucket. */
export const ALB_LOG_PREFIX = "alb";

/**
 * The bucket the ALB writes its access logs to: private, SSE-S3 (the only encryption ALB log delivery
 * supports), TLS only, expiring after the log retention, writable only by this region's ELB log delivery.
 */
export class AccessLogs extends Construct {
  readonly bucket: string;
  /** Resources the ALB must wait for: it checks at creation that it may write. */
  readonly ready: S3BucketPolicy;

  constructor(scope: Construct, id: string, props: AccessLogsProps) {
    super(scope, id);
    const bucket = new S3Bucket(this, "bucket", {
      bucket: `${props.prefix}-access-logs-${props.accountId}`,
      forceDestroy: props.forceDestroy,
    });
    new S3BucketPublicAccessBlock(this, "private", {
      bucket: bucket.id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    new S3BucketOwnershipControls(this, "ownership", {
      bucket: bucket.id,
      rule: { objectOwnership: "BucketOwnerEnforced" },
    });
    new S3BucketServerSideEncryptionConfigurationA(this, "encryption", {
      bucket: bucket.id,
      rule: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
    });
    new S3BucketLifecycleConfiguration(this, "expiry", {
      bucket: bucket.id,
      rule: [{ id: "expire", status: "Enabled", filter: [{}], expiration: [{ days: props.retentionDays }] }],
    });
    const elb = new DataAwsElbServiceAccount(this, "elb", {});
    this.ready = new S3BucketPolicy(this, "policy", {
      bucket: bucket.id,
      policy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "AlbLogDelivery",
            Effect: "Allow",
            Principal: { AWS: elb.arn },
            Action: "s3:PutObject",
            Resource: `${bucket.arn}/${ALB_LOG_PREFIX}/AWSLogs/${props.accountId}/*`,
          },
          {
            Sid: "TlsOnly",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [bucket.arn, `${bucket.arn}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
          },
        ],
      }),
    });
    this.bucket = bucket.bucket;
  }
}
