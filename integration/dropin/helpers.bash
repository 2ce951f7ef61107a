# Helpers for the drop-in tests: the real containerd 1.6 (Debian `containerd`) and dockerd 20.10
# (Debian `docker.io`) run busybox containers with liman's parts where docker's would be.
# containerd.bats and docker.bats put the runtime under test behind the real
# containerd-shim-runc-v2, exactly where it would run runc; containerd-liman-shim.bats gives
# containerd liman-shim itself as runtime type io.containerd.liman.v2 (DROPIN_CTR_RUNTIME), which
# runs the liman-runtime beside it. bench/shim starts the same daemons. Load ../runtime/helpers
# first (it provides RUNTIME, the assertions, cleanup_cgroups and unmount_under).
#
#   LIMAN_RUNTIME     runtime under test (default: $LIMAN_BIN/liman-runtime); /usr/sbin/runc works too
#   LIMAN_BIN         the build's bin directory: first in containerd's PATH, where it finds
#                     containerd-shim-liman-v2
#   LIMAN_DOCKER_CLI  docker client (default: /usr/bin/docker from docker.io, else docker in PATH)
#   DROPIN_MANAGER    containerd (default) or liman-containerd: ctest runs containerd.bats and
#                     containerd-liman-shim.bats a second time with liman-containerd serving
#                     the socket the real ctr talks to (LIMAN_CONTAINERD: its binary)
#
# Each .bats file starts its own daemons in setup_file, in a temporary directory that holds all
# their state: containerd's root, state, sockets, snapshots and CNI directories, dockerd's
# data-root, exec-root, pidfile and socket, liman-shim's sockets (dirname of containerd's socket
# + /s) and its runtime's state (LIMAN_RUNTIME_ROOT). Nothing else on the machine is configured or
# used: dockerd runs with --bridge=none and no iptables, ip forwarding or masquerading; containers
# get --network none (docker) or the default empty network namespace (ctr). Cgroups go under
# /$DROPIN_TAG in every hierarchy: the containers' (/$DROPIN_TAG/ID) and the daemons' own
# (/$DROPIN_TAG/daemons), where the shims they start stay too, so teardown finds every shim
# whatever its command line. A few paths are hard-coded in the daemons themselves (containerd 1.6
# puts runc shim sockets in /run/containerd/s, its runc shim given no runc root keeps runc's state
# in /run/containerd/runc, dockerd 20.10 writes /etc/docker/key.json and makes /run/docker/plugins):
# those that did not exist before are removed again in teardown_file.
#
# The runtime containerd-shim-runc-v2 runs is a wrapper script that appends its argv to
# $DROPIN_TMP/runtime-calls.log and execs the runtime under test: `runtime_verbs ID` shows which
# commands really reached it for a container (liman-shim runs its liman-runtime directly).

DROPIN_CTR_NS=liman-dropin
DROPIN_IMAGE=liman.test/busybox:latest
DOCKER_CLI="${LIMAN_DOCKER_CLI:-$( [ -x /usr/bin/docker ] && echo /usr/bin/docker || command -v docker)}"
# The runtime type ctr_run asks containerd for (a .bats file may set it before loading us).
DROPIN_CTR_RUNTIME="${DROPIN_CTR_RUNTIME:-io.containerd.runc.v2}"
DROPIN_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The manager the real ctr talks to: containerd (default) or liman-containerd, which then stands
# where containerd stood (same socket, same ctr commands: the suite doubles as its wire test).
DROPIN_MANAGER="${DROPIN_MANAGER:-containerd}"
LIMAN_CONTAINERD="${LIMAN_CONTAINERD:-${LIMAN_BIN:-/nonexistent}/liman-containerd}"

# Host paths the daemons create on their own, deepest first (see above).
DROPIN_HOST_PATHS=(/etc/docker/key.json /etc/docker /run/docker/plugins /run/docker
  /run/containerd/s /run/containerd/fifo "/run/containerd/runc/$DROPIN_CTR_NS" /run/containerd/runc
  /run/containerd)

# --- setup_file / teardown_file -------------------------------------------------------------------

# dropin_setup_file [docker]: checks, temp dir, wrapper, image tarball, containerd (and dockerd).
# Without root every test skips (bats 1.8 cannot skip from setup_file: dropin_setup does). The
# temporary directory is named after DROPIN_NAME (default: the .bats file's name).
dropin_setup_file() {
  if [ "$(id -u)" -ne 0 ]; then
    export DROPIN_SKIP="needs root: the drop-in tests run containerd and dockerd"
    return 0
  fi
  local want_docker="${1:-}" bin
  for bin in containerd ctr containerd-shim-runc-v2 jq tar sha256sum; do
    command -v "$bin" >/dev/null || fail "$bin not found (.ci/install-deps installs it)"
  done
  if [ -n "$want_docker" ]; then
    command -v dockerd >/dev/null || fail "dockerd not found (.ci/install-deps installs docker.io)"
    [ -x "$DOCKER_CLI" ] || fail "docker client not found (set LIMAN_DOCKER_CLI)"
  fi
  [ -x "$RUNTIME" ] || fail "runtime under test not found: $RUNTIME (set LIMAN_RUNTIME or LIMAN_BIN)"
  [ "$DROPIN_MANAGER" != liman-containerd ] || [ -x "$LIMAN_CONTAINERD" ] ||
    fail "liman-containerd not found: $LIMAN_CONTAINERD (set LIMAN_CONTAINERD or LIMAN_BIN)"

  dropin_prepare "liman-dropin-${DROPIN_NAME:-$(basename "$BATS_TEST_FILENAME" .bats)}-$$" || return 1
  start_containerd
  if [ -n "$want_docker" ]; then
    start_dockerd
  fi
}

# dropin_prepare TAG: what the daemons need before they start: DROPIN_TAG=TAG, the temporary
# directory DROPIN_TMP=/tmp/TAG.XXXXXX, the record of host paths that do not exist yet, the
# runtime wrapper and the image tarball.
dropin_prepare() {
  export DROPIN_TAG="$1"
  export DROPIN_TMP
  DROPIN_TMP="$(mktemp -d "/tmp/$DROPIN_TAG.XXXXXX")" || return 1
  chmod 0755 "$DROPIN_TMP"
  mkdir -p "$DROPIN_TMP"/{tmp,fifo,cni/bin,cni/net.d}
  export DROPIN_LIMAN_ROOT="$DROPIN_TMP/liman-root"
  local p
  for p in "${DROPIN_HOST_PATHS[@]}"; do
    [ -e "$p" ] || echo "$p" >>"$DROPIN_TMP/host-paths"
  done
  export DROPIN_WRAPPER="$DROPIN_TMP/runtime-wrapper"
  cat >"$DROPIN_WRAPPER" <<EOF
#!/bin/sh
# The runtime as the shim sees it: records the command line, then becomes the runtime under test.
printf '%s\n' "\$*" >>'$DROPIN_TMP/runtime-calls.log'
exec '$RUNTIME' "\$@"
EOF
  chmod 0755 "$DROPIN_WRAPPER"
  : >"$DROPIN_TMP/runtime-calls.log"
  : >"$DROPIN_TMP/ctr-containers"
  make_image_tar "$DROPIN_TMP/busybox-image.tar" "$DROPIN_IMAGE"
}

# check_liman_socket_dir: liman-shim listens on $DROPIN_TMP/s/<64 hex digits> (beside containerd's
# socket), which must fit in sun_path, 108 bytes with the terminating NUL (unix(7)): users of
# liman-shim need a short tag (runc shims use /run/containerd/s, whatever the tag).
check_liman_socket_dir() {
  [ $((${#DROPIN_TMP} + 67)) -le 107 ] ||
    fail "$DROPIN_TMP is too long for liman-shim's socket paths (shorten DROPIN_NAME)"
}

# Per-test setup.
dropin_setup() {
  [ -z "${DROPIN_SKIP:-}" ] || skip "$DROPIN_SKIP"
}

dropin_teardown_file() {
  [ -n "${DROPIN_TMP:-}" ] && [ -d "$DROPIN_TMP" ] || return 0
  docker_teardown
  stop_daemon dockerd
  if [ -S "$DROPIN_TMP/containerd.sock" ]; then
    local ns
    for ns in $(ctr_ns "" namespaces ls -q 2>/dev/null); do
      remove_ctr_containers "$ns" $(ctr_ns "$ns" containers ls -q 2>/dev/null)
    done
  fi
  stop_daemon containerd
  kill_shims
  thaw_and_kill_cgroups
  TEST_TAG="$DROPIN_TAG" cleanup_cgroups  # removes them
  unmount_under "$DROPIN_TMP"
  restore_host_paths
  rm -rf --one-file-system "$DROPIN_TMP" || true
  return 0
}

# Removes the host paths the daemons created (files, then directories only if empty).
restore_host_paths() {
  local p
  [ -f "$DROPIN_TMP/host-paths" ] || return 0
  while read -r p; do
    if [ -d "$p" ] && [ ! -L "$p" ]; then
      rmdir "$p" 2>/dev/null || true
    else
      rm -f "$p"
    fi
  done <"$DROPIN_TMP/host-paths"
}

# shim_procs: "PID NAMESPACE ID" of every shim given this test's containerd socket, found by
# command line (`containerd-shim-runc-v2 -namespace NS -id ID -address SOCKET ...`).
shim_procs() {
  local d args ns id
  for d in /proc/[0-9]*; do
    args="$(tr '\0' ' ' 2>/dev/null <"$d/cmdline")" || continue  # (it may have exited)
    case "$args" in
      *" -address $DROPIN_TMP/containerd.sock "*) ;;
      *) continue ;;
    esac
    ns="$(sed -n 's/.* -namespace \([^ ]*\) .*/\1/p' <<<"$args")"
    id="$(sed -n 's/.* -id \([^ ]*\) .*/\1/p' <<<"$args")"
    echo "${d#/proc/} ${ns:--} ${id:--}"
  done
}

# Shims outlive containerd by design. They stay in the daemons' cgroup, where
# thaw_and_kill_cgroups finds them; this kills those found by command line (also when that cgroup
# could not be made) and removes the sockets killed shims leave behind: containerd 1.6 names a
# runc shim's /run/containerd/s/sha256(SOCKET/NS/ID); liman-shim's are in $DROPIN_TMP/s.
kill_shims() {
  local pid ns id
  while read -r pid ns id; do
    kill -9 "$pid" 2>/dev/null || true
    rm -f "/run/containerd/s/$(shim_socket_name "$ns" "$id")"
  done < <(shim_procs)
  return 0
}

# shim_socket_name NAMESPACE ID: the file name of the socket of the shim for task ID, in its
# socket directory: sha256 of "CONTAINERD_SOCKET/NAMESPACE/ID" in hex (containerd 1.6's scheme,
# liman-shim's too).
shim_socket_name() {
  printf '%s' "$DROPIN_TMP/containerd.sock/$1/$2" | sha256sum | cut -d' ' -f1
}

# daemon_cgroup_procs: the processes in the daemons' cgroup (the daemons and the shims they
# started), one pid a line.
daemon_cgroup_procs() {
  local f
  for f in $(cgroup_mounts); do
    [ -f "$f/$DROPIN_TAG/daemons/cgroup.procs" ] || continue
    cat "$f/$DROPIN_TAG/daemons/cgroup.procs"
    return 0
  done
  fail "no daemons' cgroup /$DROPIN_TAG/daemons"
}

# cgroup_mounts: mount points of the cgroup hierarchies (v1 and v2) under /sys/fs/cgroup, one a
# line.
cgroup_mounts() {
  # /proc/self/mountinfo (proc(5)): the filesystem type follows the " - " separator.
  awk '{ for (i = 7; i <= NF; i++) if ($i == "-") break; t = $(i + 1) }
       (t == "cgroup" || t == "cgroup2") && index($5, "/sys/fs/cgroup") == 1 { print $5 }' \
    /proc/self/mountinfo
}

# join_daemon_cgroup PID: moves PID (a daemon about to start) into /$DROPIN_TAG/daemons in every
# hierarchy but cpuset, where a new v1 cgroup admits no task before its cpuset.cpus and
# cpuset.mems are set (cpuset(7)). The shims the daemon starts are its children and stay there.
join_daemon_cgroup() {
  local m
  for m in $(cgroup_mounts); do
    [ -f "$m/cpuset.cpus" ] && [ ! -f "$m/cgroup.controllers" ] && continue  # v1 cpuset
    mkdir -p "$m/$DROPIN_TAG/daemons" && echo "$1" >"$m/$DROPIN_TAG/daemons/cgroup.procs"
  done 2>/dev/null
  return 0
}

# Thaws every cgroup of this run (a frozen process does not die of SIGKILL under the v1 freezer)
# and kills what is left in them, in every hierarchy, before cleanup_cgroups removes them.
thaw_and_kill_cgroups() {
  local f pid
  while read -r f; do
    case "$f" in
      */freezer.state) echo THAWED >"$f" ;;
      */cgroup.freeze) echo 0 >"$f" ;;
    esac 2>/dev/null || true
  done < <(find /sys/fs/cgroup -path "*/$DROPIN_TAG/*" \( -name freezer.state -o -name cgroup.freeze \) 2>/dev/null)
  while read -r f; do
    while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done <"$f" 2>/dev/null
  done < <(find /sys/fs/cgroup -path "*/$DROPIN_TAG/*" -name cgroup.procs 2>/dev/null)
  return 0
}

# --- image -----------------------------------------------------------------------------------------

# make_image_tar TARBALL REF: a `docker save`-format image (one layer: the busybox rootfs from
# integration/lib/make-busybox-rootfs), loadable by `docker load` and `ctr images import`.
make_image_tar() {
  local out="$1" ref="$2" dir="$DROPIN_TMP/image" diff cfg arch
  case "$(uname -m)" in
    x86_64) arch=amd64 ;;
    aarch64) arch=arm64 ;;
    *) arch="$(uname -m)" ;;
  esac
  "$DROPIN_DIR/../lib/make-busybox-rootfs" "$dir/rootfs" >/dev/null
  tar -C "$dir/rootfs" --numeric-owner --owner=0 --group=0 -cf "$dir/layer.tar" .
  diff="$(sha256sum "$dir/layer.tar" | cut -d' ' -f1)"
  mkdir -p "$dir/save/$diff"
  mv "$dir/layer.tar" "$dir/save/$diff/layer.tar"
  jq -n --arg d "sha256:$diff" --arg a "$arch" '{architecture: $a, os: "linux",
      config: {Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: ["sh"]},
      rootfs: {type: "layers", diff_ids: [$d]},
      history: [{created_by: "integration/lib/make-busybox-rootfs"}]}' >"$dir/config.json"
  cfg="$(sha256sum "$dir/config.json" | cut -d' ' -f1)"
  mv "$dir/config.json" "$dir/save/$cfg.json"
  jq -n --arg c "$cfg.json" --arg l "$diff/layer.tar" --arg r "$ref" \
    '[{Config: $c, RepoTags: [$r], Layers: [$l]}]' >"$dir/save/manifest.json"
  tar -C "$dir/save" -cf "$out" .
  rm -rf "$dir"
}

# --- daemons ---------------------------------------------------------------------------------------

# start_daemon NAME COMMAND...: runs a daemon in the background in the daemons' cgroup, output
# appended to $DROPIN_TMP/NAME.log, recorded as "pid starttime" in $DROPIN_TMP/NAME.daemon. It must
# hold none of bats' descriptors (bats waits for its pipes to close): everything past stderr is
# closed first.
start_daemon() {
  local name="$1"
  shift
  (
    join_daemon_cgroup "$BASHPID"
    for fd in $(ls "/proc/$BASHPID/fd"); do
      [ "$fd" -le 2 ] || eval "exec $fd>&-"
    done
    exec env TMPDIR="$DROPIN_TMP/tmp" "$@"
  ) </dev/null >>"$DROPIN_TMP/$name.log" 2>&1 &
  local pid=$!
  disown "$pid"  # no job notice from bash when stop_daemon NAME KILL kills it
  echo "$pid $(proc_starttime "$pid")" >"$DROPIN_TMP/$name.daemon"
}

# wait_daemon NAME CHECK...: polls CHECK (up to ~30 s) while the daemon lives.
wait_daemon() {
  local name="$1" i pid start
  shift
  read -r pid start <"$DROPIN_TMP/$name.daemon"
  for i in $(seq 150); do
    "$@" >/dev/null 2>&1 && return 0
    [ "$(proc_starttime "$pid")" = "$start" ] || break
    sleep 0.2
  done
  echo "--- $name.log (last 40 lines)" >&2
  tail -n 40 "$DROPIN_TMP/$name.log" >&2
  fail "$name did not come up"
}

# stop_daemon NAME [SIGNAL]: SIGNAL (default SIGTERM; KILL for a crash), then SIGKILL after ~20 s;
# waits for the process to be gone.
stop_daemon() {
  local name="$1" sig="${2:-TERM}" pid start i
  [ -f "$DROPIN_TMP/$name.daemon" ] || return 0
  read -r pid start <"$DROPIN_TMP/$name.daemon"
  [ -n "$pid" ] || return 0
  [ "$(proc_starttime "$pid")" = "$start" ] && kill -"$sig" "$pid" 2>/dev/null
  for i in $(seq 200); do
    [ "$(proc_starttime "$pid")" = "$start" ] || return 0
    [ "$i" -ne 100 ] || kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  done
  echo "$name ($pid) would not die" >&2
}

start_containerd() {
  local t="$DROPIN_TMP"
  # containerd's own paths, all in the temp dir (its state where DROPIN_CONTAINERD_STATE says,
  # when set); the CRI plugin's runc runtime uses the runtime under test too (ctr does not go
  # through CRI: ctr_run passes the same options itself).
  cat >"$t/containerd.toml" <<EOF
version = 2
root = "$t/containerd/root"
state = "${DROPIN_CONTAINERD_STATE:-$t/containerd/state}"
[grpc]
  address = "$t/containerd.sock"
[ttrpc]
  address = "$t/containerd.sock.ttrpc"
[debug]
  address = ""
  level = "info"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$t/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
[plugins."io.containerd.grpc.v1.cri".cni]
  bin_dir = "$t/cni/bin"
  conf_dir = "$t/cni/net.d"
[plugins."io.containerd.grpc.v1.cri".containerd]
  default_runtime_name = "runc"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"
[plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
  BinaryName = "$DROPIN_WRAPPER"
  Root = "$t/cri-runc-root"
EOF
  run_containerd
  ctr_ns "$DROPIN_CTR_NS" images import "$t/busybox-image.tar" >/dev/null ||
    fail "ctr images import failed"
}

# run_containerd: containerd on this test's configuration; again after stop_daemon containerd
# [KILL], it finds its tasks and their shims in the same root and state. $LIMAN_BIN comes first in
# its PATH (it looks containerd-shim-liman-v2 up there) and LIMAN_RUNTIME_ROOT keeps liman-shim's
# runtime state in the temporary directory; the shims inherit both.
run_containerd() {
  local env=(LIMAN_RUNTIME_ROOT="$DROPIN_LIMAN_ROOT")
  [ -z "${LIMAN_BIN:-}" ] || env+=(PATH="$LIMAN_BIN:$PATH")
  if [ "$DROPIN_MANAGER" = liman-containerd ]; then
    start_daemon containerd "${env[@]}" "$LIMAN_CONTAINERD" --root "$DROPIN_TMP/containerd/root" \
      --state "$DROPIN_TMP/containerd/state" --address "$DROPIN_TMP/containerd.sock"
  else
    start_daemon containerd "${env[@]}" containerd --config "$DROPIN_TMP/containerd.toml"
  fi
  wait_daemon containerd ctr_ns "" version
}

start_dockerd() {
  local t="$DROPIN_TMP"
  echo '{}' >"$t/daemon.json"  # not /etc/docker/daemon.json
  start_daemon dockerd dockerd --config-file "$t/daemon.json" \
    --data-root "$t/docker-data" --exec-root "$t/docker-exec" --pidfile "$t/dockerd.pidfile" \
    -H "unix://$t/docker.sock" --containerd "$t/containerd.sock" \
    --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
    --userland-proxy=false --exec-opt native.cgroupdriver=cgroupfs \
    --cgroup-parent "/$DROPIN_TAG/docker" \
    --add-runtime "liman=$DROPIN_WRAPPER" --default-runtime liman
  wait_daemon dockerd docker_cmd version --format '{{.Server.Version}}'
  docker_cmd load -i "$t/busybox-image.tar" >/dev/null || fail "docker load failed"
}

# --- clients ---------------------------------------------------------------------------------------

# ctr_ns NAMESPACE ARGS...: ctr against this test's containerd ("" = no namespace flag).
ctr_ns() {
  local ns="$1"
  shift
  timeout --kill-after=5 "${CTR_TIMEOUT:-60}" ctr --address "$DROPIN_TMP/containerd.sock" ${ns:+--namespace "$ns"} "$@"
}

ctr_cmd() { ctr_ns "$DROPIN_CTR_NS" "$@"; }

# ctr_run ID [ctr run flags...] -- COMMAND...: `ctr run` of the busybox image as container ID, in
# cgroup /$DROPIN_TAG/ID, by runtime type $DROPIN_CTR_RUNTIME: io.containerd.runc.v2 is
# containerd-shim-runc-v2 with the wrapper as its runc binary; any other type gets no runc options
# (liman-shim runs the liman-runtime beside it, with root $DROPIN_LIMAN_ROOT/NAMESPACE).
ctr_run() {
  local id="$1" flags
  shift
  read -ra flags <<<"$(ctr_runtime_flags)"
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    flags+=("$1")
    shift
  done
  [ $# -gt 0 ] && shift
  echo "$id" >>"$DROPIN_TMP/ctr-containers"
  ctr_cmd run --fifo-dir "$DROPIN_TMP/fifo" --cgroup "/$DROPIN_TAG/$id" "${flags[@]}" \
    "$DROPIN_IMAGE" "$id" "$@" </dev/null
}

# ctr_runtime_flags: ctr run's flags for $DROPIN_CTR_RUNTIME, as words (no spaces in any).
ctr_runtime_flags() {
  local flags=(--runtime "$DROPIN_CTR_RUNTIME")
  if [ "$DROPIN_CTR_RUNTIME" = io.containerd.runc.v2 ]; then
    flags+=(--runc-binary "$DROPIN_WRAPPER" --runc-root "$DROPIN_TMP/runc-root")
  fi
  echo "${flags[*]}"
}

# ctr_task_field ID COLUMN: PID (2) or STATUS (3) of the task in `ctr task ls`.
ctr_task_field() { ctr_cmd task ls 2>/dev/null | awk -v id="$1" -v c="$2" '$1 == id { print $c }'; }

# wait_task_status ID STATUS: polls `ctr task ls` (up to ~20 s).
wait_task_status() { wait_for_value 20 "task $1: status" "$2" ctr_task_field "$1" 3; }

# remove_ctr_containers NS ID...: kills and deletes tasks, then the containers (errors ignored;
# short timeouts: a runtime that fails here must not stall the suite, kill_shims and
# thaw_and_kill_cgroups are there for what is left).
remove_ctr_containers() {
  local ns="$1" id CTR_TIMEOUT=15
  shift
  for id in "$@"; do
    ctr_ns "$ns" task resume "$id" >/dev/null 2>&1 || true  # a paused task
    ctr_ns "$ns" task kill -s SIGKILL "$id" >/dev/null 2>&1 || true
    ctr_ns "$ns" task delete --force "$id" >/dev/null 2>&1 || true
    ctr_ns "$ns" containers delete "$id" >/dev/null 2>&1 || true
  done
}

# Per-test teardown for ctr tests: whatever the test left of its containers.
ctr_teardown() {
  [ -n "${DROPIN_TMP:-}" ] && [ -S "$DROPIN_TMP/containerd.sock" ] || return 0
  remove_ctr_containers "$DROPIN_CTR_NS" $(sort -u "$DROPIN_TMP/ctr-containers")
  : >"$DROPIN_TMP/ctr-containers"
}

# docker_cmd ARGS...: the docker client against this test's dockerd.
docker_cmd() {
  DOCKER_HOST="unix://$DROPIN_TMP/docker.sock" DOCKER_CONFIG="$DROPIN_TMP/docker-config" \
    timeout --kill-after=10 60 "$DOCKER_CLI" "$@"
}

# Per-test teardown for docker tests: removes every container of this test's dockerd.
docker_teardown() {
  [ -n "${DROPIN_TMP:-}" ] && [ -S "$DROPIN_TMP/docker.sock" ] || return 0
  local ids
  ids="$(docker_cmd ps -aq 2>/dev/null)" || return 0
  [ -z "$ids" ] || docker_cmd rm -f $ids >/dev/null 2>&1 || true
}

# docker_wait_log NAME REGEX: polls `docker logs` (up to ~20 s).
docker_wait_log() {
  local i
  for i in $(seq 100); do
    docker_cmd logs "$1" 2>&1 | grep -qE -- "$2" && return 0
    sleep 0.2
  done
  docker_cmd logs "$1" >&2 || true
  fail "container $1: log never matched /$2/"
}

# --- what reached the runtime ----------------------------------------------------------------------

# runtime_verbs ID: the runtime commands run for container ID (create, start, exec, kill, ...), in
# order, one a line. The container id is the last argument, or the one before the signal of kill.
runtime_verbs() {
  awk -v id="$1" '$NF == id || $(NF - 1) == id {
      for (i = 1; i <= NF; i++)
        if ($i ~ /^(create|start|run|exec|kill|delete|state|ps|pause|resume|update|events)$/) { print $i; break }
    }' "$DROPIN_TMP/runtime-calls.log"
}

# assert_runtime_verbs ID VERB...: the runtime ran these commands for ID, in this order (others may
# come between).
assert_runtime_verbs() {
  local id="$1" verbs want
  shift
  verbs="$(runtime_verbs "$id" | tr '\n' ' ')"
  local rest=" $verbs"
  for want in "$@"; do
    case "$rest" in
      *" $want "*) rest="${rest#*" $want "}" ; rest=" $rest" ;;
      *) fail "runtime commands for $id: '$verbs'; expected in order: '$*'"; return 1 ;;
    esac
  done
}

# runtime_root_of ID: the --root the shim gave the runtime for container ID (liman-shim's: its
# LIMAN_RUNTIME_ROOT and the namespace).
runtime_root_of() {
  if [ "$DROPIN_CTR_RUNTIME" = io.containerd.liman.v2 ]; then
    echo "$DROPIN_LIMAN_ROOT/$DROPIN_CTR_NS"
    return
  fi
  awk -v id="$1" '$NF == id { for (i = 1; i < NF; i++) if ($i == "--root") { print $(i + 1); exit } }' \
    "$DROPIN_TMP/runtime-calls.log"
}

# runtime_state ID: `state` of container ID straight from the runtime under test, in the state
# directory the shim uses.
runtime_state() {
  local root
  root="$(runtime_root_of "$1")"
  [ -n "$root" ] || { fail "the runtime was never called for $1"; return 1; }
  timeout 30 "$RUNTIME" --root "$root" state "$1"
}
