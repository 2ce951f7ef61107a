#!/usr/bin/env bats
# Drop-in: the real containerd 1.6 runs busybox containers through liman-shim, as runtime type
# io.containerd.liman.v2. containerd finds containerd-shim-liman-v2 in $LIMAN_BIN (first in its
# PATH); the shim runs the liman-runtime beside it, with its state under $DROPIN_LIMAN_ROOT. The
# acceptance test: ten containers keep running through a SIGKILL of containerd, and the restarted
# containerd finds them, and their shims, as they were.
#
# DROPIN_CTR_RUNTIME=io.containerd.runc.v2 runs the same tests through containerd-shim-runc-v2 (and
# the runtime under test): a check of the tests themselves.

DROPIN_NAME=lshim  # short: liman-shim's socket path must fit in sun_path (check_liman_socket_dir)
DROPIN_CTR_RUNTIME="${DROPIN_CTR_RUNTIME:-io.containerd.liman.v2}"

load ../runtime/helpers
load helpers

if [ "$DROPIN_CTR_RUNTIME" = io.containerd.liman.v2 ]; then
  # liman-shim runs the liman-runtime beside it, whatever LIMAN_RUNTIME says.
  RUNTIME="${LIMAN_BIN:-/nonexistent}/liman-runtime"
fi

setup_file() {
  if [ "$DROPIN_CTR_RUNTIME" = io.containerd.liman.v2 ] && [ "$(id -u)" -eq 0 ]; then
    [ -x "${LIMAN_BIN:-/nonexistent}/containerd-shim-liman-v2" ] ||
      fail "containerd-shim-liman-v2 not found in LIMAN_BIN (${LIMAN_BIN:-unset}): build liman-shim"
  fi
  dropin_setup_file
  [ -n "${DROPIN_SKIP:-}" ] || check_liman_socket_dir
}
teardown_file() { dropin_teardown_file; }
setup() { dropin_setup; }
teardown() {
  if [ -n "${DROPIN_TMP:-}" ] && [ -f "$DROPIN_TMP/events.pid" ]; then
    kill "$(cat "$DROPIN_TMP/events.pid")" 2>/dev/null || true
    rm -f "$DROPIN_TMP/events.pid"
  fi
  if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -f "${DROPIN_TMP:-}/containerd.log" ]; then
    echo "--- containerd.log (last 30 lines)" >&2
    tail -n 30 "$DROPIN_TMP/containerd.log" >&2
  fi
  ctr_teardown
}

# --- helpers ---------------------------------------------------------------------------------------

# bundle ID: containerd's bundle directory for task ID, the shim's working directory.
bundle() { echo "$DROPIN_TMP/containerd/state/io.containerd.runtime.v2.task/$DROPIN_CTR_NS/$1"; }

# shim_of ID: "PID STARTTIME" of the shim serving task ID: the parent of the task's init (a shim
# is its tasks' subreaper; containerd-shim-runc-v2 1.6 writes no shim.pid).
shim_of() {
  local task pid
  task="$(ctr_task_field "$1" 2)"
  pid="$(awk '$1 == "PPid:" { print $2 }' "/proc/$task/status" 2>/dev/null)"
  [ -n "$pid" ] && [ "$pid" -gt 1 ] || { fail "no parent process for task $1 (pid '$task')"; return 1; }
  echo "$pid $(proc_starttime "$pid")"
}

# alive PID STARTTIME: that very process still exists.
alive() { [ -n "$2" ] && [ "$(proc_starttime "$1")" = "$2" ]; }

# wait_gone PID STARTTIME WHAT: polls (up to ~10 s) until that process has exited.
wait_gone() {
  local i
  for i in $(seq 100); do
    alive "$1" "$2" || return 0
    sleep 0.1
  done
  fail "$3 ($1) is still running"
}

# shim_socket_dir: where the shims under test listen (liman-shim: beside containerd's socket;
# containerd-shim-runc-v2: containerd 1.6's fixed /run/containerd/s).
shim_socket_dir() {
  if [ "$DROPIN_CTR_RUNTIME" = io.containerd.liman.v2 ]; then
    echo "$DROPIN_TMP/s"
  else
    echo /run/containerd/s
  fi
}

# wait_no_shims: polls (up to ~10 s) until containerd is alone in the daemons' cgroup: every shim
# (and anything a shim started) has exited.
wait_no_shims() {
  local i cpid left=""
  read -r cpid _ <"$DROPIN_TMP/containerd.daemon"
  for i in $(seq 100); do
    left="$(daemon_cgroup_procs | grep -vx "$cpid" | tr '\n' ' ')"
    [ -z "$left" ] && return 0
    sleep 0.1
  done
  ps -o pid,args -p "${left// /,}" >&2 || true
  fail "still in the daemons' cgroup besides containerd: $left"
}

# start_events: `ctr events` in the background, output in $DROPIN_TMP/events.log (killed in
# teardown). containerd forwards what the shims publish to it.
start_events() {
  : >"$DROPIN_TMP/events.log"
  ctr_ns "" events >"$DROPIN_TMP/events.log" 2>&1 </dev/null 3>&- &
  echo $! >"$DROPIN_TMP/events.pid"
  sleep 0.5  # the subscription is made asynchronously; there is nothing to wait on
}

# task_events ID: "TOPIC JSON" of the events about task ID, in order. A line of `ctr events` is
# "TIMESTAMP (several words) NAMESPACE TOPIC JSON".
task_events() {
  awk -v id="$1" -v ns="$DROPIN_CTR_NS" '{ for (i = 1; i < NF - 1; i++) if ($i == ns) break }
      $(i + 1) ~ /^\/tasks\// && index($(i + 2), "\"container_id\":\"" id "\"") { print $(i + 1), $(i + 2) }' \
    "$DROPIN_TMP/events.log"
}

# --- tests -----------------------------------------------------------------------------------------

@test "ctr run --rm prints the container's output and passes its exit status on" {
  run ctr_run rm1 --rm -- sh -c 'echo "hello from pid $$"; cat /proc/1/cmdline | tr "\0" " "; echo; echo to-stderr >&2'
  assert_success
  assert_output_contains "hello from pid 1"
  assert_output_contains "sh -c echo"
  assert_output_contains "to-stderr"
  run ctr_run rm2 --rm -- sh -c 'exit 3'
  assert_status 3
  run ctr_cmd containers ls -q
  assert_success
  assert_output_not_contains rm1
  assert_output_not_contains rm2
  # Nothing is left of them: runtime state, bundle, shim.
  run runtime_state rm1
  assert_failure
  [ ! -e "$(bundle rm1)" ] || fail "bundle of rm1 left behind"
  wait_no_shims
}

@test "ctr run -d: the shim's bundle files and socket, the runtime's state" {
  run ctr_run d0 -d -- sleep 1000
  assert_success
  wait_task_status d0 RUNNING
  local pid shim_pid shim_start address socket
  pid="$(ctr_task_field d0 2)"
  read -r shim_pid shim_start < <(shim_of d0)
  alive "$shim_pid" "$shim_start" || fail "shim $shim_pid of d0 is not running"

  # The shim serves at the address it wrote into the bundle, under the name containerd expects.
  address="$(cat "$(bundle d0)/address")"
  socket="$(shim_socket_dir)/$(shim_socket_name "$DROPIN_CTR_NS" d0)"
  assert_eq "$address" "unix://$socket" "address of d0's shim"
  [ -S "$socket" ] || fail "no socket $socket"
  if [ "$DROPIN_CTR_RUNTIME" = io.containerd.liman.v2 ]; then
    assert_eq "$(cat "$(bundle d0)/shim.pid")" "$shim_pid" "shim.pid of d0"
    assert_eq "$(stat -c %a "$socket")" 600 "mode of $socket"
    assert_eq "$(stat -c %a "$(dirname "$socket")")" 700 "mode of $(dirname "$socket")"
    [ ! -e "/run/containerd/s/$(shim_socket_name "$DROPIN_CTR_NS" d0)" ] ||
      fail "liman-shim's socket is in /run/containerd/s"
  fi

  # The runtime holds the container (same pid) and the init is in the cgroup asked for.
  run runtime_state d0
  assert_success
  assert_eq "$(jq -r .status <<<"$output")" running "runtime state status"
  assert_eq "$(jq -r .pid <<<"$output")" "$pid" "runtime state pid"
  grep -q ":/$DROPIN_TAG/d0\$" "/proc/$pid/cgroup" || fail "task $pid is not in cgroup /$DROPIN_TAG/d0"

  run ctr_cmd task kill -s SIGKILL d0
  assert_success
  wait_task_status d0 STOPPED
  run ctr_cmd task delete d0
  assert_success
  assert_output_contains "exit code 137"
  run ctr_cmd containers delete d0
  assert_success
  wait_gone "$shim_pid" "$shim_start" "shim of d0"
  [ ! -e "$socket" ] || fail "socket $socket left behind"
  run runtime_state d0
  assert_failure
  wait_no_shims
}

@test "ctr task exec (output, stdin, exit status), task ps, task kill (SIGTERM), task delete" {
  run ctr_run d1 -d -- sh -c 'trap "exit 0" TERM; sleep 1000 & wait'
  assert_success
  wait_task_status d1 RUNNING
  local pid
  pid="$(ctr_task_field d1 2)"

  run ctr_cmd task exec --fifo-dir "$DROPIN_TMP/fifo" --exec-id e1 d1 \
    sh -c 'echo "exec sees init: $(cat /proc/1/cmdline | tr "\0" " ")"; echo exec-stderr >&2'
  assert_success
  assert_output_contains "exec sees init: sh -c trap"
  assert_output_contains "exec-stderr"
  run ctr_cmd task exec --fifo-dir "$DROPIN_TMP/fifo" --exec-id e2 d1 sh -c 'exit 7'
  assert_status 7
  # stdin reaches the exec'd process, and its end (CloseIO) ends `cat`.
  run bash -c 'printf "piped-in\n" | "$@"' _ timeout 60 ctr --address "$DROPIN_TMP/containerd.sock" \
    --namespace "$DROPIN_CTR_NS" task exec --fifo-dir "$DROPIN_TMP/fifo" --exec-id e3 d1 cat
  assert_success
  assert_output_contains "piped-in"
  # An exec id may be used again once its process is gone.
  run ctr_cmd task exec --fifo-dir "$DROPIN_TMP/fifo" --exec-id e1 d1 true
  assert_success

  # ps lists exactly the container's processes: the init and its sleep.
  run ctr_cmd task ps d1
  assert_success
  assert_output_matches "^$pid[[:space:]]"
  local listed in_cgroup
  listed="$(awk 'NR > 1 { print $1 }' <<<"$output" | sort -n | tr '\n' ' ')"
  in_cgroup="$(sort -n "$(cg_dir pids "/$DROPIN_TAG/d1")/cgroup.procs" | tr '\n' ' ')"
  assert_eq "$listed" "$in_cgroup" "task ps of d1 (the cgroup's processes)"
  assert_eq "$(wc -w <<<"$listed")" 2 "number of processes in d1"

  run ctr_cmd task kill d1  # SIGTERM: the trap exits 0
  assert_success
  wait_task_status d1 STOPPED
  run ctr_cmd task delete d1
  assert_success
  assert_output_not_contains "non-zero exit code"
  run ctr_cmd containers delete d1
  assert_success
  wait_no_shims
}

@test "ctr task pause and resume (the freezer), SIGKILL of a paused task" {
  run ctr_run p1 -d -- sleep 1000
  assert_success
  wait_task_status p1 RUNNING
  run ctr_cmd task pause p1
  assert_success
  wait_task_status p1 PAUSED
  if cgroup_v2_only; then
    assert_eq "$(cat "/sys/fs/cgroup/$DROPIN_TAG/p1/cgroup.freeze")" 1 "cgroup.freeze of p1"
  else
    assert_eq "$(cat "/sys/fs/cgroup/freezer/$DROPIN_TAG/p1/freezer.state")" FROZEN "freezer.state of p1"
  fi
  run runtime_state p1
  assert_eq "$(jq -r .status <<<"$output")" paused "runtime state status"
  run ctr_cmd task resume p1
  assert_success
  wait_task_status p1 RUNNING
  if cgroup_v2_only; then
    assert_eq "$(cat "/sys/fs/cgroup/$DROPIN_TAG/p1/cgroup.freeze")" 0 "cgroup.freeze of p1"
  else
    assert_eq "$(cat "/sys/fs/cgroup/freezer/$DROPIN_TAG/p1/freezer.state")" THAWED "freezer.state of p1"
  fi
  run ctr_cmd task exec --fifo-dir "$DROPIN_TMP/fifo" --exec-id e1 p1 echo alive
  assert_success
  assert_output_contains alive

  # containerd does not resume a paused task before SIGKILL: the task must die all the same.
  run ctr_cmd task pause p1
  assert_success
  wait_task_status p1 PAUSED
  run ctr_cmd task kill -s SIGKILL p1
  assert_success
  wait_task_status p1 STOPPED
  run ctr_cmd task delete p1
  assert_success
  assert_output_contains "exit code 137"
  wait_no_shims
}

@test "ctr task metrics: the container's cgroup figures" {
  run ctr_run m1 -d --memory-limit 67108864 -- sh -c 'sleep 1000 & wait'
  assert_success
  wait_task_status m1 RUNNING
  run ctr_cmd task metrics m1
  assert_success
  assert_output_matches '^m1[[:space:]]+[0-9]{4}-'  # ID and timestamp
  assert_output_matches '^pids\.current[[:space:]]+2[[:space:]]*$'
  run ctr_cmd task metrics --format json m1
  assert_success
  local m="$output"
  if cgroup_v2_only; then
    assert_eq "$(jq -r .memory.usage_limit <<<"$m")" 67108864 "memory.usage_limit"
    jq -e '.memory.usage > 0 and .cpu.usage_usec > 0' <<<"$m" >/dev/null || fail "metrics: $m"
  else
    assert_eq "$(jq -r .memory.usage.limit <<<"$m")" 67108864 "memory.usage.limit"
    jq -e '.memory.usage.usage > 0 and .cpu.usage.total > 0 and (.cpu.usage.per_cpu | length) > 0' \
      <<<"$m" >/dev/null || fail "metrics: $m"
    # Usage as the memory cgroup counts it (give or take what changed in between).
    local cg_usage
    cg_usage="$(cat "/sys/fs/cgroup/memory/$DROPIN_TAG/m1/memory.usage_in_bytes")"
    jq -e --argjson u "$cg_usage" '.memory.usage.usage > $u / 2 and .memory.usage.usage < $u * 2' \
      <<<"$m" >/dev/null || fail "memory usage in metrics vs the cgroup's $cg_usage: $m"
  fi
  assert_eq "$(jq -r .pids.current <<<"$m")" 2 "pids.current"
}

@test "the shim's events reach containerd's subscribers" {
  start_events
  run ctr_run ev1 -d -- sh -c 'sleep 1000 & wait'
  assert_success
  wait_task_status ev1 RUNNING
  local pid
  pid="$(ctr_task_field ev1 2)"
  run ctr_cmd task exec --fifo-dir "$DROPIN_TMP/fifo" --exec-id x5 ev1 sh -c 'exit 5'
  assert_status 5
  run ctr_cmd task pause ev1
  assert_success
  run ctr_cmd task resume ev1
  assert_success
  run ctr_cmd task kill -s SIGKILL ev1
  assert_success
  wait_task_status ev1 STOPPED
  run ctr_cmd task delete ev1
  assert_success
  sleep 0.5  # let the last event through

  run task_events ev1
  local topics
  topics="$(awk '{ print $1 }' <<<"$output" | tr '\n' ' ')"
  assert_eq "$topics" "/tasks/create /tasks/start /tasks/exec-added /tasks/exec-started /tasks/exit /tasks/paused /tasks/resumed /tasks/exit /tasks/delete " "topics of ev1's events"
  # The exits: the exec's (its id, status 5), then the init's (pid, 137).
  local exits
  exits="$(awk '$1 == "/tasks/exit" { print $2 }' <<<"$output")"
  jq -e -s '.[0].id == "x5" and .[0].exit_status == 5' <<<"$exits" >/dev/null ||
    fail "exec exit event: $exits"
  jq -e -s --argjson p "$pid" '.[1].id == "ev1" and .[1].pid == $p and .[1].exit_status == 137' \
    <<<"$exits" >/dev/null || fail "init exit event: $exits"
  awk '$1 == "/tasks/start" { print $2 }' <<<"$output" | jq -e --argjson p "$pid" '.pid == $p' >/dev/null ||
    fail "start event: $output"
  wait_no_shims
}

@test "ctr run -t and task exec -t: the container's terminal" {
  # ctr -t wants a terminal of its own: script(1) gives it one.
  local ctr="ctr --address $DROPIN_TMP/containerd.sock --namespace $DROPIN_CTR_NS"
  echo t1 >>"$DROPIN_TMP/ctr-containers"
  run timeout 60 script -qec "$ctr run -t --rm $(ctr_runtime_flags) --fifo-dir $DROPIN_TMP/fifo \
    --cgroup /$DROPIN_TAG/t1 $DROPIN_IMAGE t1 sh -c 'tty; exit 4'" /dev/null </dev/null
  assert_status 4
  assert_output_matches '/dev/pts/[0-9]+'
  run ctr_run t2 -d -- sleep 1000
  assert_success
  wait_task_status t2 RUNNING
  run timeout 60 script -qec "$ctr task exec -t --fifo-dir $DROPIN_TMP/fifo --exec-id et t2 \
    sh -c 'tty; exit 6'" /dev/null </dev/null
  assert_status 6
  assert_output_matches '/dev/pts/[0-9]+'
  run ctr_cmd task kill -s SIGKILL t2
  assert_success
  wait_task_status t2 STOPPED
  run ctr_cmd task delete t2
  assert_success
  wait_no_shims
}

@test "a container over its memory limit: /tasks/oom, exit status 137" {
  start_events
  run ctr_run o1 --rm --memory-limit 16777216 -- sh -c 'x=aaaaaaaaaaaaaaaa; while :; do x=$x$x; done'
  assert_status 137
  sleep 0.5
  run task_events o1
  assert_output_contains "/tasks/oom"
  awk '$1 == "/tasks/exit" { print $2 }' <<<"$output" | jq -e '.exit_status == 137' >/dev/null ||
    fail "no exit event with status 137 for o1: $output"
  wait_no_shims
}

@test "a shim killed by SIGKILL: containerd cleans up with the shim binary's delete" {
  start_events
  run ctr_run sk1 -d -- sleep 1000
  assert_success
  wait_task_status sk1 RUNNING
  local pid start shim_pid shim_start i
  pid="$(ctr_task_field sk1 2)"
  start="$(proc_starttime "$pid")"
  read -r shim_pid shim_start < <(shim_of sk1)
  kill -9 "$shim_pid"
  wait_gone "$shim_pid" "$shim_start" "shim of sk1"

  # containerd runs `SHIM -id sk1 -bundle DIR delete`, publishes the exit it reports and forgets
  # the task; the runtime's delete --force has killed the container.
  for i in $(seq 100); do
    [ -z "$(ctr_task_field sk1 1)" ] && break
    sleep 0.2
  done
  [ -z "$(ctr_task_field sk1 1)" ] || fail "containerd still lists task sk1"
  wait_gone "$pid" "$start" "task sk1"
  run runtime_state sk1
  assert_failure
  [ ! -e "$(bundle sk1)" ] || fail "bundle of sk1 left behind"
  ! grep -q "/sk1/rootfs " /proc/self/mountinfo || fail "rootfs of sk1 still mounted"
  ! grep -q "failed to clean up after shim disconnected.*id=sk1" "$DROPIN_TMP/containerd.log" ||
    fail "containerd could not clean up after the shim of sk1"
  sleep 0.5
  run task_events sk1
  awk '$1 == "/tasks/exit" { print $2 }' <<<"$output" | jq -e '.exit_status == 137' >/dev/null ||
    fail "no exit event with status 137 for sk1: $output"
  assert_output_contains "/tasks/delete"
  run ctr_cmd containers delete sk1
  assert_success

  # The dead shim's socket does not keep a new one for the same id from starting.
  run ctr_run sk1 -d -- sleep 1000
  assert_success
  wait_task_status sk1 RUNNING
  run ctr_cmd task kill -s SIGKILL sk1
  assert_success
  wait_task_status sk1 STOPPED
  run ctr_cmd task delete sk1
  assert_success
  run ctr_cmd containers delete sk1
  assert_success
  wait_no_shims
}

@test "ten containers keep running through SIGKILL of containerd; the restarted containerd finds them" {
  local ids=() id i
  for i in $(seq 10); do ids+=("k$i"); done
  for id in "${ids[@]}"; do
    run ctr_run "$id" -d -- sleep 1000
    assert_success
  done
  declare -A shim task
  for id in "${ids[@]}"; do
    wait_task_status "$id" RUNNING
    shim[$id]="$(shim_of "$id")"
    task[$id]="$(ctr_task_field "$id" 2)"
  done

  stop_daemon containerd KILL
  for id in "${ids[@]}"; do
    alive ${shim[$id]} || fail "shim of $id (${shim[$id]}) died with containerd"
    kill -0 "${task[$id]}" || fail "task $id (${task[$id]}) died with containerd"
  done

  run_containerd
  run ctr_cmd task ls
  assert_success
  for id in "${ids[@]}"; do
    assert_output_matches "^$id[[:space:]]+${task[$id]}[[:space:]]+RUNNING[[:space:]]*\$"
    alive ${shim[$id]} || fail "shim of $id (${shim[$id]}) is gone"
    assert_eq "$(shim_of "$id")" "${shim[$id]}" "shim of $id"
  done
  assert_eq "$(awk '$3 == "RUNNING"' <<<"$output" | wc -l)" 10 "RUNNING tasks"
  # The restarted containerd talks to the shims: exec and events work.
  run ctr_cmd task exec --fifo-dir "$DROPIN_TMP/fifo" --exec-id after k1 echo still-here
  assert_success
  assert_output_contains still-here

  for id in "${ids[@]}"; do
    run ctr_cmd task kill -s SIGKILL "$id"
    assert_success
  done
  for id in "${ids[@]}"; do
    wait_task_status "$id" STOPPED
    run ctr_cmd task delete "$id"
    assert_success
    assert_output_contains "exit code 137"
    run ctr_cmd containers delete "$id"
    assert_success
  done
  for id in "${ids[@]}"; do
    wait_gone ${shim[$id]} "shim of $id"
  done
  run ctr_cmd task ls -q
  assert_eq "$output" "" "tasks left"
  wait_no_shims
}

@test "a container that exits while containerd is down is STOPPED when it comes back" {
  run ctr_run x1 -d -- sleep 1000
  assert_success
  wait_task_status x1 RUNNING
  local pid shim_pid shim_start
  pid="$(ctr_task_field x1 2)"
  read -r shim_pid shim_start < <(shim_of x1)

  stop_daemon containerd KILL
  local start
  start="$(proc_starttime "$pid")"
  kill -9 "$pid"
  wait_gone "$pid" "$start" "task x1"
  sleep 1  # the shim reaps it and publishes its exit to nobody
  alive "$shim_pid" "$shim_start" || fail "shim of x1 exited without containerd"
  if [ "$DROPIN_CTR_RUNTIME" = io.containerd.liman.v2 ]; then
    [ -s "$(bundle x1)/exits/init.json" ] || fail "no exit record in $(bundle x1)/exits"
  fi

  run_containerd
  wait_task_status x1 STOPPED
  run ctr_cmd task delete x1
  assert_success
  assert_output_contains "exit code 137"
  run ctr_cmd containers delete x1
  assert_success
  wait_gone "$shim_pid" "$shim_start" "shim of x1"
  wait_no_shims
}
