#!/usr/bin/env bash
# Proves the real Dockerfile: builds it with rootful podman and runs the image the way GitHub
# runs a Docker action (workspace bind-mounted at /github/workspace, inputs in the environment),
# as an arbitrary non-root UID (the way Jenkins runs it), with git on a real repository (--diff,
# --history, --staged), with Redis started only for a VirusTotal lookup and then on a free port
# (127.0.0.1:6379 taken on the host network), as `docker run -v "$PWD:/src"` (reports owned by
# the folder's owner), and on an empty workspace (timed); the image must stay under
# MAX_IMAGE_MIB.
#
# These machines have no Docker engine and no registry (see the project's container notes):
# - podman with runc and cgroupfs, one fixed configuration under $W exported before the first
#   podman call, container ulimits the host allows;
# - debian:bookworm-slim made with debootstrap from the Debian mirror apt already uses, imported
#   and tagged docker.io/library/debian:bookworm-slim (kept in $W between runs), never pulled;
# - the builder stage (FROM rust:...) supplied from the host's release build with
#   --build-context builder=DIR; the Dockerfile itself is built unchanged.
# If podman cannot run here the script fails loudly; it never skips.
#
#   scripts/test-container.sh
# Environment: W (podman work dir) [/var/tmp/anteater-podman], IMG [localhost/anteater:ci],
#   MAX_IMAGE_MIB (the image size limit checked) [60],
#   ANTEATER_BIN (use this binary instead of `cargo build --release --locked`),
#   CLEAN_PODMAN=1 (remove $W with its images and containers at the end; .ci/run sets it under
#   CI, where nothing may be left in shared places; by default it is kept as a cache).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

W=${W:-/var/tmp/anteater-podman}
IMG=${IMG:-localhost/anteater:ci}
BASE=docker.io/library/debian:bookworm-slim
# Bump when the way the base image is made changes: a cached base of another recipe is remade.
BASE_RECIPE=2
# The image holds only what the gate runs (see the Dockerfile): about 37 MiB. It was 194 MiB on
# debian:bookworm-slim; growing past this limit means something came back that should not.
MAX_IMAGE_MIB=${MAX_IMAGE_MIB:-60}

# shellcheck source=/dev/null # scripts/lib/checks.sh: ok, not_ok, check, now_ms, seconds, rustless_path
. scripts/lib/checks.sh # the working folder is the repository
failures=0
started_ms=$(now_ms)
lap() { # lap LABEL START_MS
  local ms=$(($(now_ms) - $2))
  printf '[time] %-34s %4d.%01ds\n' "$1" $((ms / 1000)) $((ms % 1000 / 100))
}
cannot_run() {
  {
    echo
    echo "################################################################################"
    echo "# CONTAINER PROOF FAILED: podman cannot run on this machine"
    echo "# $*"
    echo "# (nothing was skipped: the image is unproven here)"
    echo "################################################################################"
  } >&2
  exit 1
}

# Deletes documentation, manual pages, translations and apt caches inside a debootstrapped tree,
# and nowhere else: it refuses any path that is not "$W/rootfs" holding a Debian tree.
slim_rootfs() {
  local r=$1
  if [ "$r" != "$W/rootfs" ] || [ "$(realpath -m "$r")" = / ] || [ ! -f "$r/etc/debian_version" ]; then
    echo "test-container: refusing to slim '$r': not the debootstrapped tree" >&2
    exit 1
  fi
  find "${r:?}/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "${r:?}/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "${r:?}"/usr/share/{groff,info,linda,lintian,locale,man}/*
  rm -rf "${r:?}"/var/cache/apt/archives/*.deb "${r:?}"/var/cache/apt/*.bin \
    "${r:?}"/var/lib/apt/lists/* "${r:?}"/var/log/*.log
}

# ---- 1. tools ----------------------------------------------------------------------------------
missing=()
for tool in podman runc debootstrap iptables python3; do
  command -v "$tool" >/dev/null || missing+=("$tool")
done
mkdir -p "$W"
if [ "${#missing[@]}" -ne 0 ]; then
  t=$(now_ms)
  echo "== installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends \
      podman runc debootstrap iptables ca-certificates python3; } >"$W/apt.log" 2>&1 ||
    cannot_run "apt-get install podman runc debootstrap iptables failed: $(tail -3 "$W/apt.log")"
  lap "apt-get install" "$t"
fi

# ---- 2. podman configuration: everything under $W, runc, cgroupfs, host-safe ulimits --------------
# Exported before podman's first call: a second, different configuration later makes every
# `podman run` wait 20 s on a conmon timeout.
mkdir -p "$W"/{conf,storage,run,tmp,netconf}
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] && nofile=1048576
cat >"$W/conf/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$W/storage"
runroot = "$W/run"
EOF
cat >"$W/conf/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$W/run/events.log"
tmp_dir = "$W/run/libpod"
[network]
network_config_dir = "$W/netconf"
EOF
export CONTAINERS_STORAGE_CONF=$W/conf/storage.conf CONTAINERS_CONF=$W/conf/containers.conf TMPDIR=$W/tmp
info=$(podman info --format '{{.Version.Version}} {{.Host.OCIRuntime.Name}} {{.Store.GraphDriverName}} {{.Host.CgroupManager}}' 2>&1) ||
  cannot_run "podman info: $info"
echo "== podman $info (work dir $W)"

# ---- 3. base image debian:bookworm-slim, from debootstrap (no registry here) ----------------------
if podman image exists "$BASE" &&
  [ "$(podman image inspect --format '{{index .Labels "anteater.base-recipe"}}' "$BASE")" = "$BASE_RECIPE" ]; then
  echo "== base image $BASE: cached in $W"
else
  t=$(now_ms)
  # The mirror apt already uses; never a host name written here.
  # shellcheck disable=SC2016 # apt's own $(...) placeholders
  mirror=$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE)' | awk '$2=="bookworm"{print $1; exit}')
  [ -n "$mirror" ] || cannot_run "apt knows no bookworm mirror to debootstrap from"
  echo "== base image: debootstrap bookworm from $mirror"
  rootfs=$W/rootfs
  rm -rf "$rootfs"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$W/debootstrap.log" 2>&1 ||
    cannot_run "debootstrap failed: $(tail -3 "$W/debootstrap.log")"
  lap "debootstrap" "$t"
  t=$(now_ms)
  # apt as on the host (its sources; Valid-Until off for a snapshot mirror; a proxy if any), the
  # official image's apt slimming if present, the host's extra CA certificates (egress TLS is
  # intercepted here; without them apt and VirusTotal calls inside the container fail).
  rm -f "$rootfs/etc/apt/sources.list"
  cp /etc/apt/sources.list.d/*.sources "$rootfs/etc/apt/sources.list.d/" 2>/dev/null ||
    cp /etc/apt/sources.list "$rootfs/etc/apt/"
  apt-config dump | grep -E '^Acquire::(Check-Valid-Until|Check-Date|https?::Proxy)' \
    >"$rootfs/etc/apt/apt.conf.d/99host" || true
  cp /etc/apt/apt.conf.d/docker-* "$rootfs/etc/apt/apt.conf.d/" 2>/dev/null || true
  mkdir -p "$rootfs/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/" 2>/dev/null || true
  # Slim like the official -slim variant (debuerreotype's "slimify"): no documentation, manual
  # pages or translations, now or from later installs, so that the image size measured here is
  # the one a build from the real debian:bookworm-slim gives.
  printf '%s\n' 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
    'path-exclude /usr/share/groff/*' 'path-exclude /usr/share/info/*' \
    'path-exclude /usr/share/linda/*' 'path-exclude /usr/share/lintian/*' \
    'path-exclude /usr/share/locale/*' 'path-exclude /usr/share/man/*' \
    >"$rootfs/etc/dpkg/dpkg.cfg.d/docker"
  slim_rootfs "$rootfs"
  podman rmi -f "$BASE" localhost/debian:bookworm-slim >/dev/null 2>&1 || true
  tar --numeric-owner -C "$rootfs" -c . |
    podman import --change 'CMD ["bash"]' --change "LABEL anteater.base-recipe=$BASE_RECIPE" \
      - localhost/debian:bookworm-slim >/dev/null
  podman tag localhost/debian:bookworm-slim "$BASE"
  rm -rf "$rootfs"
  lap "import base image" "$t"
fi
# Can this machine run a container at all? (runtime, cgroups, ulimits)
probe=$(podman run --rm "$BASE" true 2>&1) || cannot_run "podman run $BASE true: $probe"

# ---- 4. build the real Dockerfile --------------------------------------------------------------
t=$(now_ms)
if [ -z "${ANTEATER_BIN:-}" ]; then
  cargo build --release --locked --quiet
  ANTEATER_BIN=$repo/target/release/anteater
fi
# The builder stage's output, where `COPY --from=builder /app/target/release/anteater` finds it.
builder=$W/builder-context
rm -rf "$builder"
mkdir -p "$builder/app/target/release"
cp "$ANTEATER_BIN" "$builder/app/target/release/anteater"
lap "host release binary" "$t"

# The .dockerignore allow-list: the context must hold exactly what the Dockerfile copies.
t=$(now_ms)
mkdir -p "$W/context-probe"
printf 'FROM %s\nCOPY . /context\n' "$BASE" >"$W/context-probe/Dockerfile"
podman build -q -f "$W/context-probe/Dockerfile" -t localhost/anteater-context:ci "$repo" >/dev/null
context=$(podman run --rm --entrypoint sh localhost/anteater-context:ci -c \
  'cd /context && ls -A | sort | tr "\n" " "; test -f src/main.rs && test -f rules/default.yaml && echo "(src/, rules/ complete)"')
podman rmi -f localhost/anteater-context:ci >/dev/null
check "build context (.dockerignore allow-list): $context" \
  test "$context" = "Cargo.lock Cargo.toml entrypoint.sh rules src (src/, rules/ complete)"
lap "build context check" "$t"

t=$(now_ms)
echo "== podman build --format docker -t $IMG --build-context builder=$builder $repo"
# --format docker: built as Docker builds it (GitHub does); podman's default OCI format ignores
# SHELL, and the runtime-files stage runs its RUN under bash with pipefail.
podman build --format docker --build-context "builder=$builder" -f "$repo/Dockerfile" -t "$IMG" "$repo" >"$W/build.log" 2>&1 || {
  tail -30 "$W/build.log" >&2
  not_ok "podman build of the Dockerfile"
  echo "CONTAINER PROOF FAILED: the image does not build" >&2
  exit 1
}
ok "podman build of the unchanged Dockerfile (builder stage from the host build)"
check "every SHELL instruction honoured, as Docker does" bash -c "! grep -q 'SHELL is not supported' '$W/build.log'"
podman image prune -f >/dev/null 2>&1 || true # the previous run's image, now untagged
lap "podman build" "$t"

size=$(podman image inspect --format '{{.Size}}' "$IMG")
size_mib=$(python3 -c "print(f'{$size / 1048576:.1f}')")
echo "== image $IMG: $size bytes ($size_mib MiB)"
check "image size $size_mib MiB is under $MAX_IMAGE_MIB MiB" test "$size" -lt $((MAX_IMAGE_MIB * 1048576))

# ---- 5. what is in the image -----------------------------------------------------------------
t=$(now_ms)
check "ENTRYPOINT is the entrypoint script ($(podman image inspect --format '{{json .Config.Entrypoint}}' "$IMG"))" \
  test "$(podman image inspect --format '{{json .Config.Entrypoint}}' "$IMG")" = '["/usr/local/bin/entrypoint.sh"]'
check "no USER: GitHub runs it as root" test -z "$(podman image inspect --format '{{.Config.User}}' "$IMG")"
inside=$(podman run --rm "$IMG" sh -c 'anteater --version; redis-server --version | cut -d" " -f1-3; git --version;
  ls /etc/ssl/certs/ca-certificates.crt; for t in cc gcc ld make cargo rustc apt-get dpkg perl bash; do command -v $t; done; true' 2>&1)
check "anteater --version in the image: $(echo "$inside" | sed -n 1p)" test "$(echo "$inside" | sed -n 1p)" = "$("$ANTEATER_BIN" --version)"
# shellcheck disable=SC2016 # $1 is the inner shell's
check "redis-server, git, CA certificates in the image" \
  bash -c 'echo "$1" | grep -q "^Redis server v=" && echo "$1" | grep -q "^git version" && echo "$1" | grep -q ca-certificates.crt' _ "$inside"
check "no build tools in the image" test "$(echo "$inside" | grep -c -E '/(cc|gcc|ld|make|cargo|rustc)$')" -eq 0
check "no package manager, Perl or bash in the image (only what the gate runs)" \
  test "$(echo "$inside" | grep -c -E '/(apt-get|dpkg|perl|bash)$')" -eq 0

# ---- 6. like GitHub runs this action ---------------------------------------------------------
# The runner's `docker run`: workspace at /github/workspace (also the working dir), file commands
# at /github/file_commands, GITHUB_* variables, every input as INPUT_<NAME>, and action.yml's env:
# (inputs mapped to ANTEATER_*; VT_API_KEY). Values are action.yml's defaults unless set.
gh_run() { # gh_run WORKSPACE OUTPUT-FILE [-e NAME=VALUE...] -- [podman run options]
  local ws=$1 output=$2; shift 2
  local -A input=(
    [path]=. [patchset]="" [project]="" [config]="" [flag_list]="" [ignore_list]="" [ruleset]=""
    [binaries]=false [ips]=false [urls]=false [bincheck]=false [no_upload]=false
    [sarif_file]=anteater.sarif [fail_on]=error [vt_rate]=3/1m [redis_url]="" [vt_api_key]=""
  )
  while [ "$#" -gt 0 ] && [ "$1" != -- ]; do input[${1%%=*}]=${1#*=}; shift; done
  [ "$#" -gt 0 ] && shift
  local -a env=()
  local name
  for name in "${!input[@]}"; do
    env+=(-e "INPUT_${name^^}=${input[$name]}")
    case $name in
      vt_api_key) env+=(-e "VT_API_KEY=${input[$name]}") ;;
      sarif_file) env+=(-e "ANTEATER_SARIF=${input[$name]}") ;;
      *) env+=(-e "ANTEATER_${name^^}=${input[$name]}") ;;
    esac
  done
  mkdir -p "$W/file_commands" "$W/home"
  : >"$W/file_commands/$output"
  podman run --rm -v "$ws:/github/workspace" -w /github/workspace \
    -v "$W/file_commands:/github/file_commands" -v "$W/home:/github/home" \
    -e GITHUB_ACTIONS=true -e CI=true -e HOME=/github/home -e GITHUB_WORKSPACE=/github/workspace \
    -e "GITHUB_OUTPUT=/github/file_commands/$output" "${env[@]}" "$@" "$IMG"
}
sarif_results() {
  python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["runs"][0]["results"]))' "$1" 2>/dev/null || echo none
}
outputs() { tr '\n' ' ' <"$W/file_commands/$1"; }

echo "== like GitHub Actions: the original's test project (7 planted findings), workspace owned by 4321:4321"
ws=$W/ws-findings
rm -rf "$ws"
cp -r tests/fixtures/anteater-original "$ws"
chown -R 4321:4321 "$ws"
set +e
gh_run "$ws" findings project=testproject path=tests/testproject >"$W/findings.log" 2>&1
rc=$?
set -e
check "exit code 1 ($rc)" test "$rc" -eq 1
check "SARIF written into the workspace with the 7 findings ($(sarif_results "$ws/anteater.sarif"))" \
  test "$(sarif_results "$ws/anteater.sarif")" = 7
check "SARIF owned by the workspace owner ($(stat -c %u:%g "$ws/anteater.sarif" 2>/dev/null))" \
  test "$(stat -c %u:%g "$ws/anteater.sarif" 2>/dev/null)" = 4321:4321
check "nothing in the workspace left owned by root" test -z "$(find "$ws" -user 0)"
check "step outputs: $(outputs findings)" test "$(outputs findings)" = "sarif_file=anteater.sarif findings=7 junit_file= gitlab_codequality_file= baseline_file= exit_code=1 "
check "its Redis started and answered PING (else exit 2)" bash -c "! grep -q 'redis-server' '$W/findings.log'"
[ "$failures" -eq 0 ] || sed 's/^/    | /' "$W/findings.log" >&2

echo "== like GitHub Actions: a clean project"
ws=$W/ws-clean
rm -rf "$ws"
cp -r tests/fixtures/clean-project "$ws"
set +e
gh_run "$ws" clean >"$W/clean.log" 2>&1
rc=$?
set -e
check "exit code 0 ($rc)" test "$rc" -eq 0
check "SARIF written, no results ($(sarif_results "$ws/anteater.sarif"))" test "$(sarif_results "$ws/anteater.sarif")" = 0
check "step outputs: $(outputs clean)" test "$(outputs clean)" = "sarif_file=anteater.sarif findings=0 junit_file= gitlab_codequality_file= baseline_file= exit_code=0 "

echo "== like GitHub Actions: a scan that cannot be done"
set +e
gh_run "$ws" broken path=does-not-exist >"$W/broken.log" 2>&1
rc=$?
set -e
check "exit code 2 ($rc)" test "$rc" -eq 2
check "step outputs: $(outputs broken)" test "$(outputs broken)" = "exit_code=2 "

echo "== as an arbitrary non-root UID (--user 1234:1234, as Jenkins runs images)"
ws=$W/ws-user
rm -rf "$ws"
cp -r tests/fixtures/anteater-original "$ws"
chown -R 1234:1234 "$ws"
set +e
podman run --rm --user 1234:1234 -v "$ws:/ws" -w /ws "$IMG" --project testproject --path tests/testproject \
  >"$W/user.log" 2>&1
rc=$?
set -e
check "exit code 1 ($rc)" test "$rc" -eq 1
check "the 7 findings in the SARIF ($(sarif_results "$ws/anteater.sarif"))" test "$(sarif_results "$ws/anteater.sarif")" = 7
check "no Redis trouble (none is started without a lookup)" bash -c "! grep -q 'redis-server' '$W/user.log'"
[ "$rc" -eq 1 ] || sed 's/^/    | /' "$W/user.log" >&2
set +e
podman run --rm --user 1234:1234 "$IMG" cat /dev/null
rc_cat=$?
podman run --rm --user 1234:1234 "$IMG" sh -c 'test "$(id -u)" = 1234 && exit 7'
rc_sh=$?
podman run --rm --user 1234:1234 "$IMG" nohup sh -c 'exit 5' >/dev/null 2>&1
rc_nohup=$?
set -e
check "'cat' (Jenkins' keep-alive command) is exec'd ($rc_cat)" test "$rc_cat" -eq 0
check "'sh -c ...' is exec'd as UID 1234, its exit code kept ($rc_sh)" test "$rc_sh" -eq 7
check "'nohup sh -c ...' (how Jenkins' durable-task has launched sh steps) works ($rc_nohup)" test "$rc_nohup" -eq 5

# git in the image: every subcommand anteater runs (rev-parse, merge-base, diff, show, cat-file,
# ls-files, log, checkout-index) on a repository owned by another user than the container's.
echo "== git in the image: --diff, --history, --staged on a repository owned by 4321:4321"
ws=$W/ws-git
rm -rf "$ws"
mkdir -p "$ws"
cp -r tests/fixtures/clean-project/. "$ws/"
in_ws() { git -C "$ws" -c safe.directory="$ws" -c user.name=ci -c user.email=ci@example.invalid "$@"; }
in_ws init -q -b main
in_ws add -A
in_ws commit -q -m base
in_ws checkout -q -b change
mkdir -p "$ws/ci"
echo 'aws_access_key_id = AKIAQ3TZ7VK2MXWJ4RNA' >"$ws/ci/deploy.sh" # fake-secret-for-tests
in_ws add -A
in_ws commit -q -m change
chown -R 4321:4321 "$ws"
rules() { # rules SARIF: the rule ids of its results
  python3 -c 'import json,sys; print(" ".join(r["ruleId"] for r in json.load(open(sys.argv[1]))["runs"][0]["results"]))' "$1" 2>/dev/null || echo none
}
git_run() { # git_run NAME [podman run options] -- ANTEATER OPTIONS: prints the exit code; log in $W/git-NAME.log
  local name=$1 rc=0
  shift
  local -a opts=()
  while [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  rm -f "$ws/$name.sarif"
  podman run --rm -v "$ws:/ws" -w /ws "${opts[@]}" "$IMG" "$@" --sarif "$name.sarif" >"$W/git-$name.log" 2>&1 || rc=$?
  echo "$rc"
}
rc=$(git_run diff -- --diff main)
check "--diff main: exit 1 ($rc), the key the change added ($(rules "$ws/diff.sarif"))" \
  test "$rc:$(rules "$ws/diff.sarif")" = 1:aws-access-key-id
rc=$(git_run diff-user --user 4321:4321 -- --diff main)
check "--diff main as the owner, UID 4321: exit 1 ($rc), the same key ($(rules "$ws/diff-user.sarif"))" \
  test "$rc:$(rules "$ws/diff-user.sarif")" = 1:aws-access-key-id
rc=$(git_run history -- --history)
check "--history: exit 1 ($rc), the key at the commit that added it ($(rules "$ws/history.sarif"))" \
  test "$rc:$(rules "$ws/history.sarif")" = 1:aws-access-key-id
echo 'export GITHUB_TOKEN=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' >"$ws/staged.sh" # fake-secret-for-tests
in_ws add staged.sh
chown -R 4321:4321 "$ws"
rc=$(git_run staged -- --staged)
check "--staged: exit 1 ($rc), the staged token only ($(rules "$ws/staged.sarif"))" \
  test "$rc:$(rules "$ws/staged.sarif")" = 1:github-token
head_here=$(in_ws rev-parse HEAD)
head_inside=$(podman run --rm -v "$ws:/ws" "$IMG" git -C /ws rev-parse HEAD 2>&1 || true)
check "plain git in the image trusts a checkout of another owner (/etc/gitconfig): $head_inside" \
  test "$head_inside" = "$head_here"
for name in diff diff-user history staged; do
  [ "$(rules "$ws/$name.sarif")" != none ] || sed 's/^/    | /' "$W/git-$name.log" >&2
done
# TLS in the image: anteater (rustls) must find the CA bundle where the image has it. A throwaway
# CA signs a certificate for 127.0.0.1; a local HTTPS server answers 404 to everything. With that
# CA mounted over /etc/ssl/certs/ca-certificates.crt the VirusTotal lookup reaches the server (its
# HTTP 404 is reported); the image's own bundle does not know that CA (UnknownIssuer).
echo "== TLS in the image: anteater finds /etc/ssl/certs/ca-certificates.crt"
tls=$W/tls
rm -rf "$tls"
mkdir -p "$tls/ws" "$tls/www"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=anteater-test-ca -keyout "$tls/ca.key" \
  -out "$tls/ca.crt" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$tls/ext"
openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.crt" -CAkey "$tls/ca.key" -CAcreateserial -days 1 \
  -extfile "$tls/ext" -out "$tls/server.crt" 2>/dev/null
# shellcheck disable=SC2016 # Python, not shell
python3 -c 'import functools, http.server, ssl, sys
d = sys.argv[1]
server = http.server.HTTPServer(("127.0.0.1", 0), functools.partial(http.server.SimpleHTTPRequestHandler, directory=d + "/www"))
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(d + "/server.crt", d + "/server.key")
server.socket = context.wrap_socket(server.socket, server_side=True)
open(d + "/port", "w").write(str(server.server_address[1]))
server.serve_forever()' "$tls" >/dev/null 2>&1 &
tls_server=$!
trap 'kill "$tls_server" 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s "$tls/port" ] && break; sleep 0.1; done
echo 'see http://example.invalid/page' >"$tls/ws/a.txt"
redis_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
contains() { case $1 in *"$2"*) return 0 ;; esac; return 1; }
tls_run() { # tls_run [podman run options]: the reason the URL stayed unverified
  podman run --rm --network host -v "$tls/ws:/ws" -w /ws -e VT_API_KEY=test -e ANTEATER_REDIS_PORT="$redis_port" \
    -e VT_API_URL="https://127.0.0.1:$(cat "$tls/port")/api/v3" "$@" "$IMG" --urls --vt-rate 100/1s --vt-deadline 20s 2>&1 |
    sed -n 's/.*not verified: //p'
}
reason=$(tls_run -v "$tls/ca.crt:/etc/ssl/certs/ca-certificates.crt:ro")
check "with the test CA at /etc/ssl/certs/ca-certificates.crt, TLS holds: $reason" \
  contains "$reason" "HTTP 404"
reason=$(tls_run)
check "with the image's own bundle, the test CA is refused: $reason" \
  contains "$reason" UnknownIssuer
kill "$tls_server" 2>/dev/null || true
wait "$tls_server" 2>/dev/null || true
trap - EXIT
lap "container runs" "$t"

# The entrypoint starts a Redis only for a VirusTotal lookup, and then on a free port: a runner
# whose 127.0.0.1:6379 is taken (a Kubernetes pod with a Redis service) is no obstacle. A probe
# mounted in front of PATH records what anteater found when it started: REDIS_URL, whether a
# redis-server runs, and its answer to PING.
echo "== Redis only when a lookup is asked, on a free port with 127.0.0.1:6379 taken (host network)"
t=$(now_ms)
ws=$W/ws-redis
rm -rf "$ws" "$W/probe-bin"
mkdir -p "$ws" "$W/probe-bin"
cp -r tests/fixtures/clean-project/. "$ws/"
chmod 1777 "$ws" # the probe writes there as UID 1234 too
# shellcheck disable=SC2016 # the probe's own variables
printf '%s\n' '#!/bin/sh' '{' \
  '  echo "url=${REDIS_URL-}"' \
  '  echo "redis=$(pidof redis-server)"' \
  '  if [ -n "${REDIS_URL-}" ]; then echo "ping=$(redis-cli -u "$REDIS_URL" ping 2>&1)"; fi' \
  '} >/ws/probe' \
  'exec /usr/local/bin/anteater "$@"' >"$W/probe-bin/anteater"
chmod 755 "$W/probe-bin" "$W/probe-bin/anteater"
port_taken() { python3 -c 'import socket; socket.create_connection(("127.0.0.1", 6379), 1)' 2>/dev/null; }
taker=
if ! port_taken; then
  python3 -c 'import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 6379))
s.listen()
time.sleep(600)' &
  taker=$!
  for _ in $(seq 50); do port_taken && break; sleep 0.1; done
fi
check "127.0.0.1:6379 is taken on the host" port_taken
probe_run() { # probe_run [podman run options] -- [anteater options]: sets $rc and $probe
  local -a opts=()
  while [ "$1" != -- ]; do opts+=("$1"); shift; done
  shift
  rm -f "$ws/probe"
  set +e
  podman run --rm --network host -v "$ws:/ws" -w /ws -v "$W/probe-bin:/probe:ro" \
    -e PATH=/probe:/usr/local/bin:/usr/bin:/bin -e VT_API_KEY=placeholder-not-a-key \
    -e VT_API_URL=http://127.0.0.1:9/api/v3 "${opts[@]}" "$IMG" --no-sarif "$@" >"$W/probe.log" 2>&1
  rc=$?
  set -e
  probe=$(tr '\n' ' ' <"$ws/probe" 2>/dev/null || echo none)
}
probe_run --
check "no lookup asked: exit 0 ($rc), no Redis started: $probe" test "$rc:$probe" = "0:url= redis= "
probe_run -- --ips
# shellcheck disable=SC2016 # the inner bash's
check "--ips: exit 0 ($rc), its own Redis answering, not on 6379: $probe" \
  bash -c '[[ "$1" =~ ^0:url=redis://127\.0\.0\.1:([0-9]+)\ redis=[0-9]+\ ping=PONG\ $ ]] && [ "${BASH_REMATCH[1]}" != 6379 ]' _ "$rc:$probe"
[ "$rc" -eq 0 ] || sed 's/^/    | /' "$W/probe.log" >&2
probe_run -e ANTEATER_BINCHECK=true --
# shellcheck disable=SC2016 # the inner bash's
check "ANTEATER_BINCHECK=true: exit 0 ($rc), a Redis started: $probe" \
  bash -c '[[ "$1" =~ ^0:url=redis://127\.0\.0\.1:[0-9]+\ redis=[0-9]+\ ping=PONG ]]' _ "$rc:$probe"
probe_run --user 1234:1234 -- --urls
# shellcheck disable=SC2016 # the inner bash's
check "--urls as UID 1234: exit 0 ($rc), a Redis started and answered: $probe" \
  bash -c '[[ "$1" =~ ^0:url=redis://127\.0\.0\.1:[0-9]+\ redis=[0-9]+\ ping=PONG ]]' _ "$rc:$probe"
probe_run -e ANTEATER_IPS=false --
check "ANTEATER_IPS=false: exit 0 ($rc), no Redis started: $probe" test "$rc:$probe" = "0:url= redis= "
if [ -n "$taker" ]; then
  kill "$taker" 2>/dev/null || true
  wait "$taker" 2>/dev/null || true
fi

# `docker run -v "$PWD:/src" -w /src` as root (rootful podman, as Docker runs): the reports
# written into the mounted folder belong to its owner, who can read them.
echo "== docker run -v \"\$PWD:/src\" -w /src as root: the reports belong to the folder's owner"
ws=$W/ws-docker-run
rm -rf "$ws"
cp -r tests/fixtures/anteater-original "$ws"
chown -R 4321:4321 "$ws"
set +e
podman run --rm -v "$ws:/src" -w /src "$IMG" --project testproject --path tests/testproject \
  --junit anteater-junit.xml >"$W/docker-run.log" 2>&1
rc=$?
set -e
check "exit code 1 ($rc)" test "$rc" -eq 1
owners=$(stat -c %u:%g "$ws/anteater.sarif" "$ws/anteater-junit.xml" 2>/dev/null | sort -u | tr '\n' ' ')
check "SARIF and JUnit owned by the folder's owner ($owners)" test "$owners" = "4321:4321 "
check "the owner (UID 4321) can read them" \
  setpriv --reuid 4321 --regid 4321 --clear-groups sh -c 'cat "$@" >/dev/null' _ "$ws/anteater.sarif" "$ws/anteater-junit.xml"
check "nothing in the folder left owned by root" test -z "$(find "$ws" -user 0)"
[ "$rc" -eq 1 ] || sed 's/^/    | /' "$W/docker-run.log" >&2
lap "Redis and ownership runs" "$t"

echo "== empty workspace, like GitHub Actions: time from podman run to exit"
ws=$W/ws-empty
rm -rf "$ws"
mkdir -p "$ws"
durations=()
for _ in 1 2 3; do
  rm -f "$ws/anteater.sarif"
  t=$(now_ms)
  set +e
  gh_run "$ws" empty >"$W/empty.log" 2>&1
  rc=$?
  set -e
  durations+=($(($(now_ms) - t)))
  [ "$rc" -eq 0 ] || break
done
check "empty workspace: exit code 0 ($rc)" test "$rc" -eq 0
echo "empty workspace run, podman run to exit: ${durations[*]} ms"
echo "image size: $size bytes ($size_mib MiB)"
du -sh "$W/storage" 2>/dev/null | awk '{print "podman storage in " $2 ": " $1}'
lap "TOTAL" "$started_ms"

if [ "${CLEAN_PODMAN:-}" = 1 ]; then
  # podman removes its containers and images first (unmounting their overlays; the exported
  # configuration above keeps it to $W), then the folder goes, which must be ours.
  podman rm --all --force >/dev/null 2>&1 || true
  podman rmi --all --force >/dev/null 2>&1 || true
  case "$W" in
    /var/tmp/anteater-podman* | /tmp/anteater-podman*) rm -rf "${W:?}" ;;
    *) echo "test-container: left $W in place (not a folder this script owns)" >&2 ;;
  esac
  echo "== removed the podman work dir $W"
fi

echo
if [ "$failures" -ne 0 ]; then
  echo "CONTAINER PROOF FAILED: $failures check(s)" >&2
  exit 1
fi
echo "CONTAINER PROOF PASSED"
