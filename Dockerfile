# anteater's container image: the gate, a Redis it can start for itself, and its entrypoint.
# Used by the GitHub Action in this repository (action.yml, `image: Dockerfile`), by GitLab CI
# and Jenkins (ci-examples/), and by `docker run`.
#
#   docker build -t anteater .
#   docker run --rm -v "$PWD:/src" -w /src anteater --path .

# ---- builder: the release binary -------------------------------------------------------------
FROM rust:1.95.0-bookworm AS builder
WORKDIR /app
# Dependencies first, in their own layer: it is rebuilt only when Cargo.toml or Cargo.lock
# change. A placeholder crate with the real manifest compiles every dependency; its own
# artefacts are then removed so the real sources below are always compiled.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && cargo build --release --locked \
    && rm -rf src target/release/anteater target/release/deps/anteater-* \
        target/release/deps/libanteater-* target/release/.fingerprint/anteater-*
COPY rules rules
COPY src src
RUN cargo build --release --locked

# ---- runtime: Debian slim, no build tools ----------------------------------------------------
FROM debian:bookworm-slim
# redis-server: the throwaway Redis the entrypoint starts for the VirusTotal rate limit and cache
# (with it comes redis-cli); ca-certificates: TLS to VirusTotal; git: for --diff. The checkout
# belongs to another user than the container's (the image runs as root on GitHub, as the agent's
# UID on Jenkins): git must not refuse it for "dubious ownership".
RUN apt-get update \
    && apt-get install -y --no-install-recommends redis-server ca-certificates git \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb /var/log/apt /var/log/dpkg.log \
    && git config --system --add safe.directory '*'
COPY --from=builder /app/target/release/anteater /usr/local/bin/anteater
COPY entrypoint.sh /usr/local/bin/entrypoint.sh
# Any UID may run the image (Jenkins uses the agent's): nothing below needs root, Redis keeps
# its files in a temp dir. GitHub runs it as root in /github/workspace; no USER, no WORKDIR.
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
