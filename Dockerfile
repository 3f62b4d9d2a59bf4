# Prescale's container image, for machines with a container engine and registry access
# (scripts/image.sh builds the same image without either). The final image holds only
# /prescale, the shared libraries it links, the CA roots and a passwd entry for the non-root
# user 65532: no shell, no package manager.
#
#   docker build -t ghcr.io/prescale/prescale:0.1.0 .
ARG RUST_VERSION=1.95.0

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release -p prescale --locked \
 && python3 scripts/oci_image.py rootfs target/release/prescale /rootfs

FROM scratch
ARG VERSION=0.1.0
ARG REVISION=unknown
COPY --from=build /rootfs/ /
USER 65532:65532
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
ENTRYPOINT ["/prescale"]
CMD ["run"]
LABEL org.opencontainers.image.title="prescale" \
      org.opencontainers.image.description="KEDA-compatible event-driven autoscaler and external metrics API that scales ahead of known peaks" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://example.invalid/prescale" \
      org.opencontainers.image.licenses="Apache-2.0"
