# The podeip image: `podeip webhook`, `podeip binder` and `podeip certs generate`, nothing else.
#
# Base: node:20-alpine. podeip needs Node 20.19+ and a POSIX /usr/bin/env for its command's `#!/usr/bin/env node`
# line (ENTRYPOINT ["podeip"]), which rules out distroless; none of its production dependencies is native,
# so musl is no obstacle, and Alpine is the smallest official Node 20 image (about 45 MB compressed,
# against about 70 MB for bookworm-slim). Pin it by digest in your registry if you need reproducible builds:
#   docker build --build-arg NODE_IMAGE=node:20-alpine@sha256:... .
ARG NODE_IMAGE=node:20-alpine

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# The dependencies first, so that a change to the sources does not download them again.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
COPY . .
# The one script that builds podeip and lays out the pruned install; tests/integration/image runs it too.
RUN sh deploy/image/build.sh /out

FROM ${NODE_IMAGE}
COPY --from=build /out /opt/podeip
ENV PATH=/opt/podeip/bin:$PATH \
    NODE_ENV=production \
    HOME=/tmp
# A fixed non-root UID (the one distroless calls nonroot) that Pod securityContexts can name with runAsUser;
# no passwd entry is needed. The programs write nothing outside /tmp, so the root filesystem can be read-only
# with an emptyDir at /tmp.
USER 65532:65532
WORKDIR /tmp
ENTRYPOINT ["podeip"]
