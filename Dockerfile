# anteater's container image: the gate, a Redis it can start for itself, git, and its entrypoint,
# on an image of only the files they need (about 37 MiB; it was 194 MiB on debian:bookworm-slim).
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

# ---- runtime-files: the few files the image needs, collected from Debian ----------------------
# The runtime is not a Debian system but what the gate runs, taken from Debian's packages (its
# security updates with every build): git (anteater's --diff, --staged and history modes run
# rev-parse, merge-base, diff, show, cat-file, ls-files, log and checkout-index, all built into
# /usr/bin/git, no /usr/lib/git-core helper and no Perl); redis-server and redis-cli (the
# throwaway Redis the entrypoint starts for the VirusTotal rate limit and cache, configured on its
# command line: no /etc/redis); the CA bundle (TLS to VirusTotal; rustls finds
# /etc/ssl/certs/ca-certificates.crt); busybox-static as /bin/sh and the tools the entrypoint and
# CI systems use in the container (mktemp, grep, sed, tr, find, stat, chown, touch, date, sleep,
# id, rm, cat, and Jenkins' `sh` steps: every applet is linked), with coreutils' nohup, which
# Debian's busybox lacks and Jenkins' durable-task launcher has used. Shared libraries are those
# ldd names, at their paths, with the dynamic loader; the glibc anteater of the builder stage
# needs only libc, libm and libgcc_s, which Redis needs too. /etc/gitconfig trusts every
# checkout: it belongs to another user than the container's (root on GitHub, the agent's UID on
# Jenkins), and git must not refuse it for "dubious ownership". The copied packages' dpkg records
# (/var/lib/dpkg/status.d, as distroless images have them) and /etc/os-release let image
# scanners see what is inside. Checked here by running the tree with chroot (git needs a
# /dev/null, which a container always has).
FROM debian:bookworm-slim AS runtime-files
SHELL ["/bin/bash", "-eu", "-o", "pipefail", "-c"]
RUN apt-get update \
    && apt-get install -y --no-install-recommends busybox-static ca-certificates git redis-server \
    && git config --system --add safe.directory '*' \
    && r=/rootfs \
    && mkdir -p "$r"/usr/bin "$r"/usr/sbin "$r"/usr/local/bin "$r"/etc/ssl/certs "$r"/var/lib/dpkg/status.d \
    && install -d -m 1777 "$r"/tmp \
    && install -d -m 700 "$r"/root \
    && for d in bin sbin lib lib64; do if [ -L "/$d" ]; then ln -s "$(readlink "/$d")" "$r/$d"; fi; done \
    && cp /usr/bin/git /usr/bin/redis-cli /usr/bin/nohup /bin/busybox "$r"/usr/bin/ \
    && cp -L /usr/bin/redis-server "$r"/usr/bin/redis-server \
    && for applet in $(/bin/busybox --list); do \
         if [ ! -e "$r/usr/bin/$applet" ]; then ln -s busybox "$r/usr/bin/$applet"; fi; \
       done \
    && ldd /usr/bin/git /usr/bin/redis-server /usr/bin/redis-cli /usr/bin/nohup | grep -o '/[^ ]* (0x' | cut -d' ' -f1 \
       | sort -u >/tmp/libs \
    && while read -r lib; do \
         dir=$(realpath "$(dirname "$lib")"); mkdir -p "$r$dir"; cp -L "$lib" "$r$dir/"; \
       done </tmp/libs \
    && cp /etc/ssl/certs/ca-certificates.crt "$r"/etc/ssl/certs/ \
    && cp /etc/gitconfig /etc/nsswitch.conf "$r"/etc/ \
    && cp /usr/lib/os-release "$r"/etc/os-release \
    && grep -E '^(root|nobody):' /etc/passwd | sed 's#:/bin/bash$#:/bin/sh#' >"$r"/etc/passwd \
    && grep -E '^(root|nogroup):' /etc/group >"$r"/etc/group \
    && for f in /usr/bin/git /usr/bin/redis-cli /usr/bin/nohup /bin/busybox $(cat /tmp/libs); do \
         dpkg-query -S "*/${f##*/}" | grep -v '^diversion' | cut -d: -f1 | cut -d, -f1; \
       done | sort -u | { cat; echo ca-certificates; } | while read -r pkg; do \
         dpkg-query -s "$pkg" >"$r/var/lib/dpkg/status.d/${pkg%%:*}"; \
       done \
    && mkdir "$r"/dev && touch "$r"/dev/null \
    && chroot "$r" /bin/sh -c 'git --version && redis-server --version && redis-cli --version && nohup true' \
    && rm -r "${r:?}"/dev \
    && rm -rf /var/lib/apt/lists/* /tmp/libs

# ---- runtime: only those files, the gate and its entrypoint -----------------------------------
FROM scratch
COPY --from=runtime-files /rootfs /
COPY --from=builder /app/target/release/anteater /usr/local/bin/anteater
COPY entrypoint.sh /usr/local/bin/entrypoint.sh
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# Any UID may run the image (Jenkins uses the agent's): nothing below needs root, Redis keeps
# its files in a temp dir. GitHub runs it as root in /github/workspace; no USER, no WORKDIR.
ENTRYPOINT ["/usr/local/bin/entrypoint.sh"]
