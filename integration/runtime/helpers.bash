# Helpers for the runtime end-to-end tests. They are written against the runc command line, so the
# suite runs against any runc-compatible runtime:
#
#   LIMAN_RUNTIME   runtime binary under test (default: $LIMAN_BIN/liman-runtime)
#   LIMAN_CHECKER   the static checker program (default: $LIMAN_TESTS_BIN/liman-checker)
#   LIMAN_BUSYBOX   a statically linked busybox for the rootfs (default: busybox in PATH)
#
# Every test gets its own temporary directory (bundle, --root state dir, logs), its own cgroup
# parent (/liman-test-<bats pid>-t<test number>) and a teardown that removes everything it made,
# even when the test failed: containers, helper processes, network namespaces, cgroup dirs in
# every hierarchy, mounts under the temporary directory, and the directory itself.
#
# Conventions for tests:
#   * `run runtime_run ID [run options]` runs a container in the foreground: $output is what the
#     container (and the runtime) printed, $status the container's exit code.
#   * Anything that leaves a container running (ctr_create, ctr_run_detached) redirects the
#     container's stdio to $LIMAN_TMP/ID.log (`ctr_log ID`): a container must never hold the pipe
#     that bats' `run` reads, or the test would hang until it exits.
#   * `field KEY` prints the value of a `KEY=value` line of $output (checker output format).

RUNTIME="${LIMAN_RUNTIME:-${LIMAN_BIN:-/nonexistent}/liman-runtime}"
CHECKER="${LIMAN_CHECKER:-${LIMAN_TESTS_BIN:-/nonexistent}/liman-checker}"
BUSYBOX="${LIMAN_BUSYBOX:-$(command -v busybox || echo /bin/busybox)}"

# --- assertions ------------------------------------------------------------------------------------

fail() {
  echo "FAIL: $*" >&2
  return 1
}

show_run() { echo "status=$status output:" >&2; printf '%s\n' "$output" >&2; }

assert_success() {
  if [ "$status" -ne 0 ]; then
    show_run
    fail "expected success"
  fi
}

assert_failure() {
  if [ "$status" -eq 0 ]; then
    show_run
    fail "expected failure"
  fi
}

assert_status() {
  if [ "$status" -ne "$1" ]; then
    show_run
    fail "expected exit status $1"
  fi
}

# assert_output_contains TEXT: $output contains TEXT (fixed string).
assert_output_contains() {
  if ! grep -qF -- "$1" <<<"$output"; then
    show_run
    fail "output does not contain '$1'"
  fi
}

assert_output_not_contains() {
  if grep -qF -- "$1" <<<"$output"; then
    show_run
    fail "output contains '$1'"
  fi
}

# assert_output_matches REGEX (extended regex, any line).
assert_output_matches() {
  if ! grep -qE -- "$1" <<<"$output"; then
    show_run
    fail "output does not match /$1/"
  fi
}

# field KEY: value of the first `KEY=value` line of $output.
field() {
  awk -v k="$1" 'index($0, k "=") == 1 { print substr($0, length(k) + 2); exit }' <<<"$output"
}

# assert_field KEY VALUE: the checker reported exactly KEY=VALUE.
assert_field() {
  local got
  got="$(field "$1")"
  if [ "$got" != "$2" ]; then
    show_run
    fail "expected $1=$2, got $1=$got"
  fi
}

# assert_eq ACTUAL EXPECTED [WHAT]
assert_eq() {
  if [ "$1" != "$2" ]; then
    fail "${3:-value}: expected '$2', got '$1'"
  fi
}

# --- setup / teardown ------------------------------------------------------------------------------

liman_setup() {
  if [ "$(id -u)" -ne 0 ]; then
    skip "needs root: the runtime tests create namespaces, mounts and cgroups"
  fi
  [ -x "$RUNTIME" ] || fail "runtime under test not found: $RUNTIME (set LIMAN_RUNTIME or LIMAN_BIN)"
  [ -x "$CHECKER" ] || fail "checker not found: $CHECKER (set LIMAN_TESTS_BIN or LIMAN_CHECKER)"
  [ -x "$BUSYBOX" ] || fail "busybox not found (install busybox-static or set LIMAN_BUSYBOX)"
  command -v jq >/dev/null || fail "jq is required"

  TEST_TAG="liman-test-$$-t${BATS_TEST_NUMBER}"
  LIMAN_TMP="$(mktemp -d "/tmp/${TEST_TAG}.XXXXXX")"
  chmod 0755 "$LIMAN_TMP"  # a user-namespaced container must be able to reach its rootfs
  STATE_ROOT="$LIMAN_TMP/state"
  BUNDLE="$LIMAN_TMP/bundle"
  ROOTFS="$BUNDLE/rootfs"
  CG_PARENT="/$TEST_TAG"
  CG_CUSTOM=""   # set to 1 when a test sets linux.cgroupsPath itself
  CTR="c$$-${BATS_TEST_NUMBER}"
  : >"$LIMAN_TMP/containers"
  : >"$LIMAN_TMP/pids"
  : >"$LIMAN_TMP/bgpids"
  : >"$LIMAN_TMP/netns"

  mkdir -p "$BUNDLE"
  make_rootfs "$ROOTFS"
  make_config
}

# Builds a busybox + checker rootfs once per .bats file, then copies it per test.
make_rootfs() {
  local dest="$1" tmpl="${BATS_FILE_TMPDIR:-$LIMAN_TMP}/rootfs-template"
  if [ ! -d "$tmpl" ]; then
    local t="$tmpl.new.$$"
    mkdir -p "$t"/{bin,dev,etc,proc,sys,root,mnt,run,var}
    mkdir -m 1777 "$t/tmp"
    cp "$BUSYBOX" "$t/bin/busybox"
    # `busybox --install -s` needs /proc (it reads /proc/self/exe): run it chrooted in a private
    # mount namespace, so that /proc mount never reaches the host. Fallback: one ln per applet.
    if ! unshare -m sh -c 'mount -t proc proc "$1/proc" && chroot "$1" /bin/busybox --install -s /bin' \
        _ "$t" 2>/dev/null || [ ! -L "$t/bin/sh" ]; then
      local applet
      for applet in $("$BUSYBOX" --list); do
        [ -e "$t/bin/$applet" ] || [ -L "$t/bin/$applet" ] || ln -s busybox "$t/bin/$applet"
      done
    fi
    cp "$CHECKER" "$t/bin/checker"
    chmod 0755 "$t/bin/checker" "$t/bin/busybox"
    echo "root:x:0:0:root:/root:/bin/sh" >"$t/etc/passwd"
    echo "root:x:0:" >"$t/etc/group"
    mv -T "$t" "$tmpl" 2>/dev/null || rm -rf "$t"  # another test (bats --jobs) was faster
  fi
  cp -a "$tmpl" "$dest"
}

# config.json from the runtime's own `spec`, made deterministic for tests.
make_config() {
  (cd "$BUNDLE" && "$RUNTIME" spec) || fail "$RUNTIME spec failed"
  jq_config '.process.terminal = false
    | .root.readonly = false
    | .hostname = "liman"
    | .process.args = ["checker", "sleep", "300"]'
}

# jq_config [jq options] FILTER: edits config.json in place.
jq_config() {
  local tmp="$BUNDLE/config.json.tmp"
  jq "$@" "$BUNDLE/config.json" >"$tmp" || { rm -f "$tmp"; fail "jq $*"; return 1; }
  mv "$tmp" "$BUNDLE/config.json"
}

# set_args '"checker","ns"': process.args as a JSON list body.
set_args() { jq_config ".process.args = [$1]"; }

# Prepares config.json for container ID: its own cgroup, recorded for teardown.
prepare_ctr() {
  local id="$1"
  echo "$id" >>"$LIMAN_TMP/containers"
  if [ -z "$CG_CUSTOM" ]; then
    jq_config --arg p "$CG_PARENT/$id" '.linux.cgroupsPath = $p'
  fi
}

liman_teardown() {
  [ -n "${LIMAN_TMP:-}" ] && [ -d "$LIMAN_TMP" ] || return 0
  local id pid start ns
  # Containers: force-delete every one this test created.
  while read -r id; do
    [ -n "$id" ] || continue
    timeout 30 "$RUNTIME" --root "$STATE_ROOT" delete --force "$id" >/dev/null 2>&1 || true
  done < <(sort -u "$LIMAN_TMP/containers")
  # Processes a broken runtime may have left: container inits recorded as "pid starttime".
  while read -r pid start; do
    if [ -n "$pid" ] && [ "$(proc_starttime "$pid")" = "$start" ]; then
      kill -9 "$pid" 2>/dev/null || true
    fi
  done <"$LIMAN_TMP/pids"
  # Helper processes started by the test (console receivers, ...).
  while read -r pid; do
    [ -z "$pid" ] || kill -9 "$pid" 2>/dev/null || true
  done <"$LIMAN_TMP/bgpids"
  while read -r ns; do
    [ -z "$ns" ] || ip netns delete "$ns" 2>/dev/null || true
  done <"$LIMAN_TMP/netns"
  cleanup_cgroups
  unmount_under "$LIMAN_TMP"
  rm -rf --one-file-system "$LIMAN_TMP" || true
  return 0
}

# Removes this test's cgroup dirs (the parent named $TEST_TAG and all below it) in every
# hierarchy, v1 controllers, name=systemd and the v2 one, wherever the parent is (cgroupsPath may
# be relative to the runtime's own cgroup).
cleanup_cgroups() {
  local d i pid
  while read -r d; do
    [ -d "$d" ] || continue
    [ ! -f "$d/freezer.state" ] || echo THAWED >"$d/freezer.state" 2>/dev/null || true
    [ ! -f "$d/cgroup.freeze" ] || echo 0 >"$d/cgroup.freeze" 2>/dev/null || true
    for i in $(seq 50); do
      ! rmdir "$d" 2>/dev/null || break
      while read -r pid; do kill -9 "$pid" 2>/dev/null || true; done <"$d/cgroup.procs" 2>/dev/null || true
      sleep 0.1
    done
  done < <(find /sys/fs/cgroup -mindepth 1 -maxdepth 10 -depth -type d \
             \( -path "*/$TEST_TAG" -o -path "*/$TEST_TAG/*" \) 2>/dev/null)
  return 0
}

# Lazily unmounts every mount whose mount point is under DIR, deepest first.
unmount_under() {
  local dir="$1" m
  awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
  return 0
}

proc_starttime() { awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$1/stat" 2>/dev/null; }

# Records a pid to kill in teardown if still alive (guards against pid reuse with starttime).
track_pid() {
  [ -n "$1" ] && [ "$1" -gt 0 ] 2>/dev/null || return 0
  echo "$1 $(proc_starttime "$1")" >>"$LIMAN_TMP/pids"
}

# Background helper processes (not containers) to kill in teardown.
track_bg() { echo "$1" >>"$LIMAN_TMP/bgpids"; }

# --- runtime invocation ----------------------------------------------------------------------------

# runtime ARGS...: the runtime under test with this test's --root; guarded by a timeout so a hung
# runtime fails the test instead of blocking the suite.
runtime() {
  timeout --kill-after=10 60 "$RUNTIME" --root "$STATE_ROOT" "$@"
}

# runtime_to_file ARGS...: the runtime with its output through a file, printed afterwards: for
# commands that might leave a container holding their stdio (bats' `run` would wait for it).
runtime_to_file() {
  local out="$LIMAN_TMP/runtime-out.$RANDOM" rc=0
  runtime "$@" >"$out" 2>&1 </dev/null || rc=$?
  cat "$out"
  return "$rc"
}

# runtime_run ID [run options...]: foreground `run`; the exit status is the container's.
runtime_run() {
  local id="$1"
  shift
  prepare_ctr "$id"
  runtime run --bundle "$BUNDLE" "$@" "$id" </dev/null
}

# ctr_create ID [create options...]: `create` with the container's stdio in $LIMAN_TMP/ID.log. On
# failure prints that log (runtime errors included) and returns the runtime's status.
ctr_create() {
  local id="$1" rc=0
  shift
  prepare_ctr "$id"
  runtime create --bundle "$BUNDLE" "$@" "$id" >"$LIMAN_TMP/$id.log" 2>&1 </dev/null || rc=$?
  if [ "$rc" -ne 0 ]; then
    cat "$LIMAN_TMP/$id.log"
    return "$rc"
  fi
  track_pid "$(ctr_pid "$id")"
}

# ctr_run_detached ID [run options...]: `run --detach`, stdio in $LIMAN_TMP/ID.log.
ctr_run_detached() {
  local id="$1" rc=0
  shift
  prepare_ctr "$id"
  runtime run --detach --bundle "$BUNDLE" "$@" "$id" >"$LIMAN_TMP/$id.log" 2>&1 </dev/null || rc=$?
  if [ "$rc" -ne 0 ]; then
    cat "$LIMAN_TMP/$id.log"
    return "$rc"
  fi
  track_pid "$(ctr_pid "$id")"
}

ctr_log() { cat "$LIMAN_TMP/$1.log" 2>/dev/null; }

ctr_state() { runtime state "$1"; }
ctr_status() { runtime state "$1" 2>/dev/null | jq -r .status; }
ctr_pid() { runtime state "$1" 2>/dev/null | jq -r .pid; }

# wait_for_value SECONDS WHAT EXPECTED CMD...: polls CMD every 0.1 s until it prints EXPECTED;
# after SECONDS fails with WHAT and the last value seen.
wait_for_value() {
  local seconds="$1" what="$2" want="$3" got="" deadline
  shift 3
  deadline=$((SECONDS + seconds))
  while :; do
    got="$("$@" 2>/dev/null)" || true
    [ "$got" = "$want" ] && return 0
    [ "$SECONDS" -lt "$deadline" ] || break
    sleep 0.1
  done
  fail "$what: '$got', expected '$want'"
}

# wait_status ID STATUS: polls `state` (up to ~20 s).
wait_status() { wait_for_value 20 "container $1: status" "$2" ctr_status "$1"; }

# wait_log ID REGEX: polls the container's log (up to ~20 s).
wait_log() {
  local i
  for i in $(seq 200); do
    grep -qE -- "$2" "$LIMAN_TMP/$1.log" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "log of $1:" >&2
  ctr_log "$1" >&2
  fail "container $1: log never matched /$2/"
}

# wait_file PATH: polls until PATH exists and is not empty (up to ~20 s).
wait_file() {
  local i
  for i in $(seq 200); do
    [ -s "$1" ] && return 0
    sleep 0.1
  done
  fail "file never appeared: $1"
}

# --- host-side facts -------------------------------------------------------------------------------

host_ns() { stat -L -c %i "/proc/self/ns/$1"; }
pid_ns() { stat -L -c %i "/proc/$1/ns/$2"; }

# runtime_supports_ns TYPE: false only when `features` works and does not list TYPE.
runtime_supports_ns() {
  local f
  f="$("$RUNTIME" features 2>/dev/null)" || return 0
  jq -e --arg n "$1" '(.linux.namespaces // []) | index($n) != null' <<<"$f" >/dev/null
}

cgroup_v2_only() { [ -f /sys/fs/cgroup/cgroup.controllers ]; }

# cg_dir CONTROLLER CGPATH: directory of CGPATH (a path inside the hierarchy) for a v1 controller,
# or the unified one on a cgroup v2-only host.
cg_dir() {
  if cgroup_v2_only; then
    echo "/sys/fs/cgroup$2"
  else
    echo "/sys/fs/cgroup/$1$2"
  fi
}

# cg_read CONTROLLER V1FILE V2FILE CGPATH: a cgroup file of the container's cgroup.
cg_read() {
  if cgroup_v2_only; then
    cat "/sys/fs/cgroup$4/$3"
  else
    cat "/sys/fs/cgroup/$1$4/$2"
  fi
}

# Our own cgroup in a v1 controller hierarchy (or the v2 one): base of relative cgroupsPaths.
own_cgroup() {
  if cgroup_v2_only; then
    sed -n 's/^0:://p' /proc/self/cgroup
  else
    awk -F: -v c="$1" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' \
      /proc/self/cgroup
  fi
}

# make_netns: a named network namespace (deleted in teardown); prints its name.
make_netns() {
  local name="$TEST_TAG-ns$RANDOM"
  echo "$name" >>"$LIMAN_TMP/netns"
  ip netns add "$name" || return 1
  echo "$name"
}

# start_console_receiver NAME: host-side pty receiver on $LIMAN_TMP/NAME.sock, output to
# $LIMAN_TMP/NAME.tty. Sets CONSOLE_SOCK.
start_console_receiver() {
  CONSOLE_SOCK="$LIMAN_TMP/$1.sock"
  "$CHECKER" console-receiver "$CONSOLE_SOCK" "$LIMAN_TMP/$1.tty" </dev/null >/dev/null 2>&1 3>&- &
  track_bg $!
  CONSOLE_PID=$!
  local i
  for i in $(seq 100); do
    [ -S "$CONSOLE_SOCK" ] && return 0
    sleep 0.05
  done
  fail "console receiver did not start"
}

# wait_console_done: waits for the receiver to see the pty hang up (container side closed).
wait_console_done() {
  local i st
  for i in $(seq 200); do
    st="$(awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$CONSOLE_PID/stat" 2>/dev/null)" || true
    case "$st" in
      "" | Z | X) return 0 ;;  # gone, or a zombie this shell has not reaped yet
    esac
    sleep 0.1
  done
  fail "console receiver still running"
}

# skip_if_runc REASON: for behaviour the runtime spec asks for and runc (every version) does otherwise.
skip_if_runc() {
  if "$RUNTIME" --version 2>/dev/null | grep -q '^runc version'; then skip "runc: $1"; fi
}

# skip_if_runc_older_than VERSION REASON: for features that plain runc only has from VERSION on.
# Applies to runc only (its `--version` says "runc version X"); any other runtime runs the test.
skip_if_runc_older_than() {
  local v
  v="$("$RUNTIME" --version 2>/dev/null | sed -n 's/^runc version \([0-9][0-9.]*\).*/\1/p' | head -1)"
  [ -n "$v" ] || return 0
  if [ "$(printf '%s\n%s\n' "$v" "$1" | sort -V | head -1)" != "$1" ]; then
    skip "runc $v: $2 (needs runc >= $1)"
  fi
}
