# syntax=docker/dockerfile:1
# The images of argo-controller, argo-webhook and argo-exec (copied into
# every workflow pod by its init container): static (musl) binaries on
# an empty base image, run as a non-root user, with no shell or package
# manager to attack. One build stage, one final stage per image:
#   docker build --target controller -t ghcr.io/argo-rs/argo-controller:v0.1.0 .
#   docker build --target webhook -t ghcr.io/argo-rs/argo-webhook:v0.1.0 .
#   docker build --target exec -t ghcr.io/argo-rs/argo-exec:v0.1.0 .
# The tag is the version `kubectl argo version` reports; manifests/ uses it.
ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-alpine AS build
RUN apk add --no-cache musl-dev ca-certificates
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p argo-controller -p argo-webhook -p argo-exec \
 && mkdir /out \
 && cp target/release/argo-controller target/release/argo-webhook target/release/argo-exec /out/

FROM scratch AS controller
COPY --from=build /out/argo-controller /argo-controller
# Registries are read over TLS (the entrypoints of images without a command).
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
USER 65532:65532
# admin: /metrics, /healthz, /readyz
EXPOSE 9090
ENTRYPOINT ["/argo-controller"]

FROM scratch AS webhook
COPY --from=build /out/argo-webhook /argo-webhook
USER 65532:65532
# https: admission; admin: /metrics, /healthz, /readyz
EXPOSE 8443 9091
ENTRYPOINT ["/argo-webhook"]

FROM scratch AS exec
COPY --from=build /out/argo-exec /argo-exec
USER 65532:65532
ENTRYPOINT ["/argo-exec"]
