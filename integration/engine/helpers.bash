# Helpers for limand's end-to-end tests: ../containerd's stack (liman-containerd in a temporary
# directory, a local registry with busybox images built here), limand on top of it, and the real
# docker CLIs pointed at limand with DOCKER_HOST. Load ../runtime/helpers, ../dropin/helpers,
# ../containerd/helpers, then this file.
#
#   LIMAN_LIMAND   limand under test (default: $LIMAN_BIN/limand)
#   DOCKER_CLIS    the docker clients to drive it with (default: Debian's /usr/bin/docker 20.10,
#                  /usr/local/bin/docker when the machine has a newer one, and our own liman,
#                  which reads DOCKER_HOST as docker does)
#   LIMAN_CLI      the liman CLI under test (default: $LIMAN_BIN/liman)
#
# limand keeps everything in $DROPIN_TMP/limand (data root, exec root, API socket), uses the
# manager namespace $DROPIN_TAG-engine and puts containers under the cgroup /$DROPIN_TAG/engine,
# which dropin_teardown_file empties and removes. The default bridge network uses a bridge and a
# subnet of this run's own (removed with its nftables table in teardown, even on failure).

LIMAN_LIMAND="${LIMAN_LIMAND:-${LIMAN_BIN:-/nonexistent}/limand}"
LIMAN_CLI="${LIMAN_CLI:-${LIMAN_BIN:-/nonexistent}/liman}"
if [ -z "${DOCKER_CLIS:-}" ]; then
  DOCKER_CLIS=""
  [ -x /usr/bin/docker ] && DOCKER_CLIS="/usr/bin/docker"
  [ -x /usr/local/bin/docker ] && DOCKER_CLIS="$DOCKER_CLIS /usr/local/bin/docker"
  [ -x "$LIMAN_CLI" ] && DOCKER_CLIS="$DOCKER_CLIS $LIMAN_CLI"
fi

engine_setup_file() {
  ctrd_setup_file
  [ -z "${DROPIN_SKIP:-}" ] || return 0
  [ -x "$LIMAN_LIMAND" ] || fail "limand not found: $LIMAN_LIMAND (set LIMAN_LIMAND or LIMAN_BIN)"
  [ -n "$DOCKER_CLIS" ] || fail "no docker client (.ci/install-deps installs docker.io)"
  [ -x "$LIMAN_CLI" ] || fail "liman not found: $LIMAN_CLI (set LIMAN_CLI or LIMAN_BIN)"
  export ENGINE_DIR="$DROPIN_TMP/limand"
  export ENGINE_SOCK="$ENGINE_DIR/run/liman.sock"
  export ENGINE_NS="$DROPIN_TAG-engine"
  export IMG="$REGISTRY/liman/busybox:latest"
  # The default bridge network gets a bridge and a /24 of this run's own (and no ip_forward
  # change: the tests' traffic stays between the host and its containers).
  export ENGINE_BRIDGE="lmb${DROPIN_TMP##*.}"
  export ENGINE_SUBNET="172.31.$((RANDOM % 200 + 20))"
  # limand's --dns: a loopback address of this run's own, where nothing answers unless a test
  # puts liman-fake-dns there; the containers' name lookups never leave the machine.
  export ENGINE_DNS="127.53.$((RANDOM % 250)).$((RANDOM % 250 + 2))"
  start_limand
}

# start_limand: limand on this test's manager; again after stop_daemon limand [KILL].
start_limand() {
  start_daemon limand "$LIMAN_LIMAND" --data-root "$ENGINE_DIR/data" --exec-root "$ENGINE_DIR/exec" \
    -H "unix://$ENGINE_SOCK" --containerd "$DROPIN_TMP/containerd.sock" --containerd-namespace "$ENGINE_NS" \
    --group root --cgroup-parent "/$DROPIN_TAG/engine" --log-level info \
    --bridge "$ENGINE_BRIDGE" --bip "$ENGINE_SUBNET.1/24" --ip-forward=false --dns "$ENGINE_DNS"
  wait_daemon limand curl -sf --unix-socket "$ENGINE_SOCK" http://d/_ping
}

engine_teardown_file() {
  [ -n "${DROPIN_TMP:-}" ] && [ -d "$DROPIN_TMP" ] || return 0
  if [ -S "${ENGINE_SOCK:-/nonexistent}" ]; then
    local ids
    ids="$(dk ps -aq 2>/dev/null)" || true
    [ -z "$ids" ] || dk rm -f $ids >/dev/null 2>&1 || true
  fi
  stop_daemon limand
  if [ -n "${ENGINE_BRIDGE:-}" ]; then
    ip link del "$ENGINE_BRIDGE" 2>/dev/null || true
    nft delete table ip "liman-$ENGINE_BRIDGE" 2>/dev/null || true
  fi
  ctrd_teardown_file
}

# dk ARGS...: the first docker client against limand. dkc CLI ARGS...: a given one.
dk() { dkc "${DOCKER_CLIS%% *}" "$@"; }
dkc() {
  local cli="$1"
  shift
  DOCKER_HOST="unix://$ENGINE_SOCK" DOCKER_CONFIG="$DROPIN_TMP/docker-config" \
    timeout --kill-after=5 "${DK_TIMEOUT:-120}" "$cli" "$@"
}
# api METHOD PATH [BODY]: a raw Engine API request; prints "STATUS BODY".
api() {
  local method="$1" path="$2" body="${3:-}"
  local args=(-s -o "$DROPIN_TMP/api-body" -w '%{http_code}' -X "$method" --unix-socket "$ENGINE_SOCK")
  [ -z "$body" ] || args+=(-H 'Content-Type: application/json' --data-binary "$body")
  local code
  code="$(curl "${args[@]}" "http://d$path")"
  echo "$code $(cat "$DROPIN_TMP/api-body")"
}
# lm ARGS...: the liman CLI against limand (LIMAN_HOST).
lm() { LIMAN_HOST="unix://$ENGINE_SOCK" timeout --kill-after=5 "${DK_TIMEOUT:-120}" "$LIMAN_CLI" "$@"; }
# state ID FIELD: a .State field of `docker inspect`.
state() { dk inspect -f "{{.State.$2}}" "$1"; }
