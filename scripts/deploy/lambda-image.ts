/**
 * The processor function's image (processorMode "lambda"). The deploy pushes one multi-platform image index
 * per commit, which the ECS services run; Lambda refuses an index and runs only a single-platform manifest.
 * So before the apply, the index's manifest for the function's architecture is tagged `<tag>-lambda`
 * (LAMBDA_IMAGE_TAG_SUFFIX): the same bytes the ECS tasks of that architecture run, no second build.
 */
import { LAMBDA_IMAGE_TAG_SUFFIX } from "../../terraform/config.ts";
import { awsJson, run, StepFailure } from "./lib.ts";

export type Platform = "amd64" | "arm64";

interface StackJson {
  resource?: Record<string, Record<string, Record<string, unknown>>>;
}

/** The function's platform when the synthesized stack has the Lambda processor, else undefined. */
export function lambdaPlatform(stack: StackJson): Platform | undefined {
  const functions = Object.values(stack.resource?.aws_lambda_function ?? {});
  if (functions.length === 0) return undefined;
  const [architecture] = (functions[0]?.architectures as string[] | undefined) ?? ["x86_64"];
  return architecture === "arm64" ? "arm64" : "amd64";
}

/** Index and manifest media types ECR may answer with (Docker and OCI). */
const INDEX_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
];
const MANIFEST_TYPES = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
];

interface Index {
  manifests?: { digest: string; platform?: { architecture?: string; os?: string } }[];
}

/** The digest of the linux/`platform` image in an index (attestations have platform unknown/unknown). */
export function platformDigest(index: Index, platform: Platform): string | undefined {
  return index.manifests?.find((m) => m.platform?.os === "linux" && m.platform.architecture === platform)
    ?.digest;
}

interface Manifest {
  body: string;
  mediaType: string;
}

async function getManifest(repository: string, imageId: string): Promise<Manifest | undefined> {
  const r = await awsJson<{
    images?: { imageManifest: string; imageManifestMediaType: string }[];
    failures?: { failureCode: string; failureReason: string }[];
  }>(
    [
      "ecr",
      "batch-get-image",
      "--repository-name",
      repository,
      "--image-ids",
      imageId,
      "--accepted-media-types",
      ...INDEX_TYPES,
      ...MANIFEST_TYPES,
    ],
    `ecr batch-get-image ${imageId}`,
  );
  const image = r.images?.[0];
  if (!image) {
    if (r.failures?.[0]?.failureCode === "ImageNotFound") return undefined;
    throw new StepFailure(`ecr batch-get-image ${imageId}: ${JSON.stringify(r.failures ?? r)}`);
  }
  return { body: image.imageManifest, mediaType: image.imageManifestMediaType };
}

/**
 * Makes `<tag>-lambda` name the single-platform manifest of `<tag>` for `platform`; a tag already there is
 * left as it is (tags are immutable). Returns the tag.
 */
export async function tagLambdaImage(repository: string, tag: string, platform: Platform): Promise<string> {
  const target = `${tag}${LAMBDA_IMAGE_TAG_SUFFIX}`;
  if (await getManifest(repository, `imageTag=${target}`)) {
    console.log(`${repository}:${target} exists: the function runs it as it is`);
    return target;
  }
  const source = await getManifest(repository, `imageTag=${tag}`);
  if (!source) throw new StepFailure(`${repository}:${tag} is not in ECR: nothing to tag for the function`);
  let image = source;
  if (INDEX_TYPES.includes(source.mediaType)) {
    const digest = platformDigest(JSON.parse(source.body) as Index, platform);
    if (!digest)
      throw new StepFailure(`${repository}:${tag} has no linux/${platform} image for the function`);
    const child = await getManifest(repository, `imageDigest=${digest}`);
    if (!child) throw new StepFailure(`${repository}@${digest} (linux/${platform} of ${tag}) is not in ECR`);
    image = child;
  }
  const put = await run(
    [
      "aws",
      "ecr",
      "put-image",
      "--repository-name",
      repository,
      "--image-tag",
      target,
      "--image-manifest",
      image.body,
      "--image-manifest-media-type",
      image.mediaType,
      "--output",
      "json",
    ],
    { quiet: true },
  );
  // A concurrent re-run may have tagged it in between: the same manifest under the same tag is fine.
  if (put.code !== 0 && !put.stderr.includes("ImageAlreadyExistsException")) {
    throw new StepFailure(
      `ecr put-image ${target} failed (exit ${put.code}): ${put.stderr.trim().slice(-500)}`,
    );
  }
  console.log(`${repository}:${target} → the linux/${platform} image of ${tag}, for the processor function`);
  return target;
}
