# syntax=docker/dockerfile:1
# shop: one self-contained binary in a distroless image.
#
# Build stage: the pinned Bun image. It is pinned by tag only because this repository is prepared
# offline; replace the tag with `oven/bun:1.4.5@sha256:<digest>` the first time CI pulls it.
FROM oven/bun:1.4.5 AS build
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
RUN SHOP_REVISION="${SHOP_REVISION}" bun run build && ./shop --version

# Final stage. The binary is built with --target=bun-linux-x64-baseline, so the image is amd64 whatever
# the builder's platform. Bun links only glibc (libc, libm, libpthread, libdl) and carries BoringSSL
# inside, so base-nossl (glibc, CA certificates, /etc/passwd with nonroot) is enough: `static` has no
# glibc, and `base` would only add an OpenSSL that nothing loads.
FROM --platform=linux/amd64 gcr.io/distroless/base-nossl-debian12:nonroot
ARG SHOP_REVISION=unknown
ARG SHOP_VERSION=0.0.0
ARG SHOP_SOURCE=unknown
LABEL org.opencontainers.image.title="shop" \
      org.opencontainers.image.description="Online store and real-time auction house: one binary, roles chosen with --role" \
      org.opencontainers.image.source="${SHOP_SOURCE}" \
      org.opencontainers.image.revision="${SHOP_REVISION}" \
      org.opencontainers.image.version="${SHOP_VERSION}"
COPY --from=build --chown=65532:65532 /src/shop /shop
# distroless "nonroot": uid/gid 65532, no shell.
USER 65532:65532
ENV PORT=8080
EXPOSE 8080
# No shell or curl in the image: the binary probes itself.
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 CMD ["/shop", "healthcheck"]
ENTRYPOINT ["/shop"]
CMD ["--role", "all"]
