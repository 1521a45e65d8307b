import { EcrLifecyclePolicy } from "@cdktn/provider-aws/lib/ecr-lifecycle-policy";
import { EcrRepository } from "@cdktn/provider-aws/lib/ecr-repository";
import { Construct } from "constructs";

export interface EcrProps {
  prefix: string;
  /** Lets `terraform destroy` remove a repository that still holds images (dev only). */
  forceDelete: boolean;
  keepImages: number;
}

/** The one repository every role's service pulls from; tags are git SHAs and never move. */
export class Ecr extends Construct {
  readonly repositoryUrl: string;
  readonly repositoryArn: string;

  constructor(scope: Construct, id: string, props: EcrProps) {
    super(scope, id);
    const repo = new EcrRepository(this, "repo", {
      name: props.prefix,
      imageTagMutability: "IMMUTABLE",
      imageScanningConfiguration: { scanOnPush: true },
      encryptionConfiguration: [{ encryptionType: "AES256" }],
      forceDelete: props.forceDelete,
    });
    new EcrLifecyclePolicy(this, "lifecycle", {
      repository: repo.name,
      policy: JSON.stringify({
        rules: [
          {
            rulePriority: 1,
            description: `keep the last ${props.keepImages} images (rollback window)`,
            selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: props.keepImages },
            action: { type: "expire" },
          },
        ],
      }),
    });
    this.repositoryUrl = repo.repositoryUrl;
    this.repositoryArn = repo.arn;
  }
}
