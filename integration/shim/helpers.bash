# Helpers for the liman-shim end-to-end tests: the shim is started the way containerd starts a
# shim v2 (`liman-shim ... start` in the bundle, TTRPC_ADDRESS in the environment) and driven over
# ttrpc with liman-shimctl; events go to `liman-shimctl events-server`, a stand-in for containerd's
# event endpoint that logs one JSON line per event.
#
#   LIMAN_SHIM     shim under test (default: $LIMAN_BIN/liman-shim)
#   LIMAN_SHIMCTL  the test client (default: $LIMAN_TESTS_BIN/liman-shimctl)
#   and everything ../runtime/helpers.bash takes (LIMAN_RUNTIME, LIMAN_CHECKER, LIMAN_BUSYBOX).
#
# Layout of a test's temporary directory ($LIMAN_TMP, removed in teardown):
#   bundles/ID/          one bundle per container (config.json from the runtime's `spec`, its own
#                        rootfs copy, cgroup $CG_PARENT/ID)
#   manager.sock         the -address given to shims (nothing listens there: shims derive their
#                        socket directory, s/, from it)
#   manager.sock.ttrpc   TTRPC_ADDRESS: where the events server listens
#   state/NAMESPACE/     the runtime's state (LIMAN_RUNTIME_ROOT=state; the shim appends the namespace)
#   addr-ID              the address `start` printed for container ID
#
# Teardown kills every process whose command line mentions $LIMAN_TMP (shims, events servers,
# loggers, runtime calls), force-deletes the containers, then runs the runtime suite's teardown
# (cgroups in every hierarchy, mounts, the directory).

# shellcheck source=../runtime/helpers.bash
source "$(dirname "${BASH_SOURCE[0]}")/../runtime/helpers.bash"

SHIM="${LIMAN_SHIM:-${LIMAN_BIN:-/nonexistent}/liman-shim}"
SHIMCTL="${LIMAN_SHIMCTL:-${LIMAN_TESTS_BIN:-/nonexistent}/liman-shimctl}"
SHIM_NS=liman-shim-test

# --- setup / teardown ------------------------------------------------------------------------------

shim_setup() {
  liman_setup
  [ -x "$SHIM" ] || fail "shim under test not found: $SHIM (set LIMAN_SHIM or LIMAN_BIN)"
  [ -x "$SHIMCTL" ] || fail "liman-shimctl not found: $SHIMCTL (set LIMAN_SHIMCTL or LIMAN_TESTS_BIN)"
  MANAGER_SOCK="$LIMAN_TMP/manager.sock"
  EVENTS_SOCK="$MANAGER_SOCK.ttrpc"
  EVENTS_LOG="$LIMAN_TMP/events.jsonl"
  SHIM_STATE="$STATE_ROOT/$SHIM_NS"
  export LIMAN_RUNTIME_ROOT="$STATE_ROOT"
  mkdir -p "$LIMAN_TMP/bundles"
  : >"$EVENTS_LOG"
}

shim_teardown() {
  [ -n "${LIMAN_TMP:-}" ] && [ -d "$LIMAN_TMP" ] || return 0
  kill_mentioning "$LIMAN_TMP"
  local id
  while read -r id; do
    [ -n "$id" ] || continue
    timeout 30 "$RUNTIME" --root "$SHIM_STATE" delete --force "$id" >/dev/null 2>&1 || true
  done < <(sort -u "$LIMAN_TMP/containers")
  liman_teardown
}

# kill_mentioning TEXT: SIGKILLs every process whose command line contains TEXT (not this shell),
# until none is left (~10 s).
kill_mentioning() {
  local i d pid found
  for i in $(seq 50); do
    found=""
    for d in /proc/[0-9]*; do
      pid="${d#/proc/}"
      [ "$pid" != "$$" ] && [ "$pid" != "${BASHPID:-}" ] || continue
      if { tr '\0' ' ' <"$d/cmdline"; } 2>/dev/null | grep -qF -- "$1"; then
        kill -9 "$pid" 2>/dev/null && found=1
      fi
    done
    [ -n "$found" ] || return 0
    sleep 0.2
  done
  return 0
}

# --- bundles ---------------------------------------------------------------------------------------

bundle_dir() { echo "$LIMAN_TMP/bundles/$1"; }

# new_bundle ID [--sh SCRIPT] [--jq FILTER]...: a bundle for container ID (see the layout above):
# the template config.json, process.args ["sh","-c",SCRIPT] if given, then each jq FILTER.
new_bundle() {
  local id="$1" dir filter='.'
  dir="$(bundle_dir "$id")"
  shift
  local script=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --sh) script="$2"; filter="$filter | .process.args = [\"sh\", \"-c\", \$script]"; shift 2 ;;
      --jq) filter="$filter | $2"; shift 2 ;;
      *) fail "new_bundle: unknown option $1"; return 1 ;;
    esac
  done
  echo "$id" >>"$LIMAN_TMP/containers"
  mkdir -p "$dir"
  make_rootfs "$dir/rootfs"
  jq --arg cg "$CG_PARENT/$id" --arg script "$script" ".linux.cgroupsPath = \$cg | $filter" \
    "$BUNDLE/config.json" >"$dir/config.json" || fail "new_bundle $id: jq failed"
}

# --- the shim --------------------------------------------------------------------------------------

# shim_start ID: `liman-shim ... start` as containerd runs it (cwd = bundle); prints the address.
# Its stdout goes through a file, so that a shim wrongly keeping it open cannot hang the test.
shim_start() {
  local id="$1" dir out rc=0
  dir="$(bundle_dir "$id")"
  out="$LIMAN_TMP/start-$id.out"
  (cd "$dir" && TTRPC_ADDRESS="$EVENTS_SOCK" timeout --kill-after=10 60 "$SHIM" -namespace "$SHIM_NS" \
     -address "$MANAGER_SOCK" -publish-binary /bin/false -id "$id" -bundle "$dir" start) \
     </dev/null >"$out" 2>"$LIMAN_TMP/start-$id.err" || rc=$?
  if [ "$rc" -ne 0 ]; then
    cat "$out" "$LIMAN_TMP/start-$id.err"
    return "$rc"
  fi
  cat "$out"
}

# shim_up ID: shim_start, address saved for `ctl ID`.
shim_up() {
  local addr
  addr="$(shim_start "$1")" || { echo "$addr" >&2; fail "liman-shim start for $1 failed"; return 1; }
  [ -n "$addr" ] || { fail "liman-shim start for $1 printed no address"; return 1; }
  echo "$addr" >"$LIMAN_TMP/addr-$1"
}

shim_pid() { cat "$(bundle_dir "$1")/shim.pid" 2>/dev/null || true; }
shim_socket() { local a; a="$(cat "$LIMAN_TMP/addr-$1")"; echo "${a#unix://}"; }

# ctl ID ARGS...: liman-shimctl against container ID's shim (--address and --id filled in).
ctl() {
  local id="$1"
  shift
  timeout --kill-after=10 300 "$SHIMCTL" --address "$(cat "$LIMAN_TMP/addr-$id")" --id "$id" "$@"
}

# ctl_ok ID ARGS...: ctl that must succeed; prints its output (the JSON answer).
ctl_ok() {
  local out rc=0
  out="$(ctl "$@" 2>&1)" || rc=$?
  if [ "$rc" -ne 0 ]; then
    echo "liman-shimctl $* failed ($rc): $out" >&2
    fail "shim call failed: $*"
    return 1
  fi
  echo "$out"
}

# create_ctr ID [create flags...]: shim_up + Create with the bundle and the runtime under test.
create_ctr() {
  local id="$1"
  shift
  shim_up "$id" || return 1
  ctl_ok "$id" create --bundle "$(bundle_dir "$id")" --runtime-binary "$RUNTIME" "$@" >"$LIMAN_TMP/create-$id.json"
}

# run_ctr ID [create flags...]: create_ctr + Start.
run_ctr() {
  create_ctr "$@" || return 1
  ctl_ok "$1" start >/dev/null
}

# task_status ID [--exec-id X]: CREATED / RUNNING / STOPPED / PAUSED... as the shim reports it.
task_status() {
  local id="$1"
  shift
  ctl "$id" state "$@" --field status 2>/dev/null
}

# wait_task_status ID STATUS [state flags]: polls the shim's State (up to ~30 s).
wait_task_status() {
  local id="$1" want="$2"
  shift 2
  wait_for_value 30 "$id $*: status" "$want" task_status "$id" "$@"
}

# exit_of ID [--exec-id X]: Wait's exit status.
exit_of() {
  local id="$1"
  shift
  ctl_ok "$id" wait "$@" --field exit_status
}

# rt ARGS...: the runtime under test with the root the shim gives it for our namespace.
rt() { timeout --kill-after=10 60 "$RUNTIME" --root "$SHIM_STATE" "$@"; }

# --- events ----------------------------------------------------------------------------------------

# start_events_server [LOG]: liman-shimctl events-server on $EVENTS_SOCK, appending to LOG
# (default $EVENTS_LOG, which it then becomes). Sets EVENTS_PID.
start_events_server() {
  EVENTS_LOG="${1:-$EVENTS_LOG}"
  touch "$EVENTS_LOG"
  "$SHIMCTL" events-server "$EVENTS_SOCK" >>"$EVENTS_LOG" 2>>"$LIMAN_TMP/events-server.err" </dev/null 3>&- &
  EVENTS_PID=$!
  track_bg "$EVENTS_PID"
  local i
  for i in $(seq 100); do
    [ -S "$EVENTS_SOCK" ] && kill -0 "$EVENTS_PID" 2>/dev/null && return 0
    sleep 0.1
  done
  cat "$LIMAN_TMP/events-server.err" >&2
  fail "events server did not start"
}

# kill_events_server: SIGKILL, as if the manager died (its socket file stays behind).
kill_events_server() {
  kill -9 "$EVENTS_PID" 2>/dev/null || true
  wait "$EVENTS_PID" 2>/dev/null || true
}

# wait_event TOPIC [JQ_CONDITION] [SECONDS]: polls the events log for an event with TOPIC whose
# line satisfies the condition (default: any); prints that line. The shim retries with backoff,
# hence the generous default of 60 s.
wait_event() {
  local topic="$1" cond="${2:-true}" limit="${3:-60}" line deadline
  deadline=$((SECONDS + limit))
  while :; do
    line="$(jq -c --arg t "$topic" "select(.topic == \$t and ($cond))" "$EVENTS_LOG" 2>/dev/null | head -1)"
    if [ -n "$line" ]; then
      echo "$line"
      return 0
    fi
    [ "$SECONDS" -lt "$deadline" ] || break
    sleep 0.2
  done
  echo "events received ($EVENTS_LOG):" >&2
  cat "$EVENTS_LOG" >&2
  fail "no $topic event matching ($cond) within ${limit}s"
}

# topics_of ID: the topics of container ID's events, in order, on one line.
topics_of() {
  jq -r --arg c "$1" 'select(.event.container_id == $c) | .topic' "$EVENTS_LOG" | tr '\n' ' ' | sed 's/ $//'
}

# --- polling ---------------------------------------------------------------------------------------

# wait_grep FILE REGEX [SECONDS]: polls until a line of FILE matches (extended regex).
wait_grep() {
  local file="$1" re="$2" limit="${3:-30}" deadline
  deadline=$((SECONDS + limit))
  while :; do
    grep -qE -- "$re" "$file" 2>/dev/null && return 0
    [ "$SECONDS" -lt "$deadline" ] || break
    sleep 0.1
  done
  echo "content of $file:" >&2
  cat "$file" >&2 2>/dev/null || echo "(missing)" >&2
  fail "$file never matched /$re/ within ${limit}s"
}

# proc_state PID: the state letter in /proc/PID/stat (R, S, Z...), empty when gone.
proc_state() { awk '{ sub(/^.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null || true; }

# wait_gone PID [SECONDS]: polls until PID no longer exists (a zombie nobody reaps counts as gone).
wait_gone() {
  local pid="$1" limit="${2:-30}" deadline st
  deadline=$((SECONDS + limit))
  while :; do
    st="$(proc_state "$pid")"
    case "$st" in "" | Z | X) return 0 ;; esac
    [ "$SECONDS" -lt "$deadline" ] || break
    sleep 0.1
  done
  fail "process $pid still exists (state $st) after ${limit}s: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
}

# wait_path_gone PATH [SECONDS]
wait_path_gone() {
  local path="$1" limit="${2:-30}" deadline
  deadline=$((SECONDS + limit))
  while [ -e "$path" ] || [ -L "$path" ]; do
    [ "$SECONDS" -lt "$deadline" ] || { fail "$path still exists after ${limit}s"; return 1; }
    sleep 0.1
  done
}

# Children of PID (by ppid) and their states, one "pid state" a line.
children_of() {
  local d
  for d in /proc/[0-9]*; do
    awk -v p="$1" -v pid="${d#/proc/}" '{ sub(/^.*\) /, ""); if ($2 == p) print pid, $1 }' "$d/stat" 2>/dev/null || true
  done
}

fd_count() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }

# freezer_state ID: FROZEN/FREEZING/THAWED of the container's cgroup (v1 freezer.state, or v2
# cgroup.freeze as FROZEN/THAWED).
freezer_state() {
  if cgroup_v2_only; then
    case "$(cat "/sys/fs/cgroup$CG_PARENT/$1/cgroup.freeze" 2>/dev/null)" in
      1) echo FROZEN ;;
      0) echo THAWED ;;
    esac
  else
    cat "/sys/fs/cgroup/freezer$CG_PARENT/$1/freezer.state" 2>/dev/null
  fi
}

# wait_freezer ID STATE: polls the container's freezer state (FREEZING counts as not yet).
wait_freezer() { wait_for_value 30 "$1: freezer state" "$2" freezer_state "$1"; }
