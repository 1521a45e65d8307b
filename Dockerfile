# syntax=docker/dockerfile:1
# shop: one self-contained binary in a distroless image, for linux/amd64 and linux/arm64 (Graviton).
#
# Everything is pinned: base images by digest, Bun by the SHA-256 of its npm package (the same files
# `bun@1.4.5` installs from npm). Re-pin a base with `docker buildx imagetools inspect <image:tag>` (the
# index digest, so both architectures resolve from one pin); re-pin Bun with
# `npm pack @oven/bun-linux-<arch>@<version> && sha256sum *.tgz`.
#
# The build stage runs on the builder's own platform ($BUILDPLATFORM) and cross-compiles for the target
# with an explicit Bun target, so an arm64 image needs no emulation.

# Bun for the builder's architecture (to run the build) and for the target's (the runtime that becomes the
# binary). BuildKit builds only the stages a build needs, so only the architectures involved are fetched.
FROM scratch AS bun-amd64
ADD --checksum=sha256:c18ff4130882eaa8209f0b3e66a202abd1e07a137f38a254d0b7431bc6a03827 \
    https://registry.npmjs.org/@oven/bun-linux-x64-baseline/-/bun-linux-x64-baseline-1.4.5.tgz /bun.tgz
FROM scratch AS bun-arm64
ADD --checksum=sha256:c3cd56594c9d5d025df87f77c68ad4699a49b52551f0f3232be6f727533fe08c \
    https://registry.npmjs.org/@oven/bun-linux-aarch64/-/bun-linux-aarch64-1.4.5.tgz /bun.tgz
FROM bun-${BUILDARCH} AS bun-build
FROM bun-${TARGETARCH} AS bun-target

FROM --platform=$BUILDPLATFORM debian:bookworm-slim@sha256:4b50eb66f977b4062683ff434ef18ac191da862dbe966961bc11990cf5791a8d AS build
COPY --from=bun-build /bun.tgz /tmp/bun-build.tgz
COPY --from=bun-target /bun.tgz /tmp/bun-target.tgz
RUN mkdir -p /opt/bun-build /opt/bun-target \
 && tar -xzf /tmp/bun-build.tgz -C /opt/bun-build --strip-components=2 package/bin/bun \
 && tar -xzf /tmp/bun-target.tgz -C /opt/bun-target --strip-components=2 package/bin/bun \
 && ln -s /opt/bun-build/bun /usr/local/bin/bun \
 && rm /tmp/bun-*.tgz && bun --version
WORKDIR /src
# Dependencies first so source edits reuse this layer. --production: `bun build --compile` bundles
# and never typechecks, so dev tooling (tsc, biome, test servers) has no business in the image.
# --ignore-scripts: no runtime dependency needs an install script.
COPY package.json bun.lock ./
RUN bun install --frozen-lockfile --production --ignore-scripts
COPY tsconfig.json ./
COPY scripts/ scripts/
COPY src/ src/
# The build context has no .git, so the revision comes in as an argument (CI passes the commit SHA).
ARG SHOP_REVISION=unknown
ARG TARGETARCH
ARG BUILDARCH
# The target's own runtime, never one downloaded at build time: amd64 is the baseline build (no AVX2
# needed, so it runs on every Fargate host), arm64 the aarch64 one.
RUN SHOP_REVISION="${SHOP_REVISION}" SHOP_COMPILE_TARGET="linux-${TARGETARCH}" SHOP_BUN_RUNTIME=/opt/bun-target/bun \
    bun run build \
 && if [ "$TARGETARCH" = "$BUILDARCH" ]; then ./shop --version; fi

# Final stage: glibc and CA certificates, nothing else. Bun links only glibc (libc, libm, libpthread,
# libdl) and carries BoringSSL inside, so base-nossl is enough: `static` has no glibc, and `base` would
# only add an OpenSSL that nothing loads. No shell: the binary is its own health check.
#
# Bun aborts at start without /proc (it reads /proc/self/exe and the cgroup limits): ECS and Docker mount
# it; a hand-made chroot or sandbox must too (tests/delivery/distroless.test.ts runs the binary that way).
FROM gcr.io/distroless/base-nossl-debian12:nonroot@sha256:be40c00dfabd86576d92666e87e406714d5618342de1a0c213ad232de255172e
ARG SHOP_REVISION=unknown
ARG SHOP_VERSION=0.0.0
ARG SHOP_SOURCE=unknown
LABEL org.opencontainers.image.title="shop" \
      org.opencontainers.image.description="Online store and real-time auction house: one binary, roles chosen with --role" \
      org.opencontainers.image.source="${SHOP_SOURCE}" \
      org.opencontainers.image.revision="${SHOP_REVISION}" \
      org.opencontainers.image.version="${SHOP_VERSION}"
# Owned by root and not writable: the process (uid 65532) can run the binary but never replace it.
COPY --from=build --chown=0:0 --chmod=0555 /src/shop /shop
# The only CAs the archiver trusts for PostgreSQL (Terraform's DATABASE_URL names it in sslrootcert).
COPY --chown=0:0 --chmod=0444 certs/rds-global-bundle.pem /etc/ssl/certs/rds-global-bundle.pem
# distroless "nonroot": uid/gid 65532, no shell. ECS states the same user and drops every capability.
USER 65532:65532
ENV PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 CMD ["/shop", "healthcheck"]
ENTRYPOINT ["/shop"]
CMD ["--role", "all"]
