/**
 * The agent image: an ECR repository (scan on push) and the bundled image built from the agent
 * package with @pulumi/docker-build for the plan's CPU architectures, or a prebuilt image named in
 * config (aws.agentImage), in which case nothing is built.
 *
 * Tags are mutable and instances run the image by digest (repo:tag@sha256:...). An immutable
 * repository refuses a push to an existing tag even with the same digest
 * (ImageTagAlreadyExistsException), and docker-build decides for itself when to rebuild and push
 * (its own hash of the build context, the Dockerfile, the platforms and its other inputs), so any
 * rebuild our tag did not foresee would fail `pulumi up`. With the digest pinned, what runs is as
 * fixed as with an immutable tag, and a rebuild simply moves the tag. The tag still names the
 * content (every file the build context admits, and the platforms) for people reading the registry.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as aws from '@pulumi/aws';
import * as dockerbuild from '@pulumi/docker-build';
import * as pulumi from '@pulumi/pulumi';
import type { CpuArchitecture } from '../plan/instances.js';
import { dockerPlatform, named, type Tags } from './common.js';
import { ecrRepositoryArnOfImage } from './instance-role.js';

/** Images kept in the repository; older ones expire (rollbacks reach back this far). */
export const KEEP_IMAGES = 20;

export interface AgentImageArgs {
  /** Prebuilt image reference from config (aws.agentImage); when set, nothing is built. */
  prebuiltImage?: string;
  /**
   * CPU architectures the image runs on: the agent instances' and the LiveKit nodes' (they run the
   * intake and dispatcher from the same image); one platform each, in one multi-platform image.
   */
  architectures: readonly CpuArchitecture[];
  /** Docker build context: the repository root (the agent package imports the common workspace). */
  contextDir: string;
  /** Dockerfile path, relative to contextDir; default agent/Dockerfile. */
  dockerfile?: string;
  /** Paths under contextDir whose content decides the tag; default the build context's allowlist (DEFAULT_TAG_SOURCES). */
  tagSources?: string[];
  /** Let `pulumi destroy` delete the repository with its images (aws.ecrForceDelete); default false. */
  forceDelete?: boolean;
  /** Tags on the repository. */
  tags: Tags;
}

/** The image reference instances run, and where it lives. */
export class AgentImage extends pulumi.ComponentResource {
  /** Image reference to run: repo:tag@digest when built (pinned by digest), the configured reference otherwise. */
  public readonly imageRef: pulumi.Output<string>;
  /** ECR repository ARN the instances pull from, or null for an image outside ECR. */
  public readonly repositoryArn: pulumi.Output<string | null>;
  public readonly repository?: aws.ecr.Repository;
  public readonly image?: dockerbuild.Image;

  constructor(name: string, args: AgentImageArgs, opts?: pulumi.ComponentResourceOptions) {
    super('voice-agent-infra:aws:AgentImage', name, {}, opts);
    if (args.prebuiltImage) {
      this.imageRef = pulumi.output(args.prebuiltImage);
      this.repositoryArn = pulumi.output(ecrRepositoryArnOfImage(args.prebuiltImage));
    } else {
      this.repository = new aws.ecr.Repository(
        `${name}`,
        {
          imageScanningConfiguration: { scanOnPush: true },
          // Instances pin the digest; a rebuild re-points the tag instead of failing (see the file comment).
          imageTagMutability: 'MUTABLE',
          forceDelete: args.forceDelete ?? false,
          encryptionConfigurations: [{ encryptionType: 'AES256' }],
          tags: named(args.tags, name, 'agent-image'),
        },
        { parent: this },
      );
      new aws.ecr.LifecyclePolicy(
        `${name}-expiry`,
        { repository: this.repository.name, policy: JSON.stringify(lifecyclePolicy(KEEP_IMAGES)) },
        { parent: this },
      );
      const auth = aws.ecr.getAuthorizationTokenOutput({ registryId: this.repository.registryId }, { parent: this });
      const platforms = imagePlatforms(args.architectures);
      const tag = contentTag(args.contextDir, args.tagSources ?? DEFAULT_TAG_SOURCES, platforms);
      this.image = new dockerbuild.Image(
        `${name}`,
        {
          context: { location: args.contextDir },
          dockerfile: { location: join(args.contextDir, args.dockerfile ?? 'agent/Dockerfile') },
          platforms,
          push: true,
          tags: [pulumi.interpolate`${this.repository.repositoryUrl}:${tag}`],
          registries: [{ address: this.repository.repositoryUrl, username: auth.userName, password: pulumi.secret(auth.password) }],
          // Previews (CI, no Docker daemon) list the image without building it; `up` builds.
          buildOnPreview: false,
        },
        { parent: this },
      );
      this.imageRef = this.image.ref;
      this.repositoryArn = this.repository.arn;
    }
    this.registerOutputs({ imageRef: this.imageRef, repositoryArn: this.repositoryArn });
  }
}

/** Docker platforms for a set of CPU architectures (deduplicated, stable order). */
export function imagePlatforms(architectures: readonly CpuArchitecture[]): dockerbuild.Platform[] {
  const platforms = [...new Set(architectures.map(dockerPlatform))].sort();
  if (platforms.length === 0) throw new Error('the agent image needs at least one CPU architecture');
  return platforms.map((p) => (p === 'linux/arm64' ? dockerbuild.Platform.Linux_arm64 : dockerbuild.Platform.Linux_amd64));
}

/**
 * What decides the image's content: every path the build context admits (.dockerignore is an
 * allowlist; a test holds this list to it), the Dockerfile and the .dockerignore itself.
 */
export const DEFAULT_TAG_SOURCES = [
  '.dockerignore',
  'agent/Dockerfile',
  'package.json',
  'package-lock.json',
  'tsconfig.base.json',
  'common/package.json',
  'common/tsconfig.json',
  'common/src',
  'agent/package.json',
  'agent/tsconfig.json',
  'agent/src',
  'agent/bin',
  'agent/config',
];

/** ECR lifecycle: expire all but the newest `keep` images. */
export function lifecyclePolicy(keep: number) {
  return {
    rules: [
      { rulePriority: 1, description: `keep the newest ${keep} images`, selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: keep }, action: { type: 'expire' } },
    ],
  };
}

/**
 * A tag from the content of the sources and the target platforms ("src-" + 12 hex of SHA-256):
 * new content or a new platform, a new tag; the same content keeps its tag. Missing paths are
 * skipped (the tag then reflects what exists).
 */
export function contentTag(root: string, sources: readonly string[], platforms: readonly string[] = []): string {
  const hash = createHash('sha256');
  hash.update(`platforms:${[...platforms].sort().join(',')}\0`);
  for (const file of sources.flatMap((s) => filesUnder(join(root, s))).sort()) {
    hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return `src-${hash.digest('hex').slice(0, 12)}`;
}

function filesUnder(path: string): string[] {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    return [];
  }
  if (stat.isFile()) return [path];
  if (!stat.isDirectory()) return [];
  return readdirSync(path)
    .filter((entry) => entry !== 'node_modules' && entry !== 'dist' && !entry.startsWith('.'))
    .flatMap((entry) => filesUnder(join(path, entry)));
}
