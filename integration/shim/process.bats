#!/usr/bin/env bats
# Processes and their I/O through liman-shim: execs with and without a terminal, resize, kill,
# stdin and CloseIO, FIFOs, loggers (file://, binary://, json-file://), OOM, stats, pids, and
# the shim's own hygiene (descriptors, zombies) over many execs.

load helpers

setup() { shim_setup; }
teardown() { shim_teardown; }

# exec_sh ID EXEC_ID SCRIPT [exec flags...]: Exec of `sh -c SCRIPT` (the container's process
# with its args replaced).
exec_sh() {
  local id="$1" exec_id="$2" script="$3"
  shift 3
  ctl "$id" exec --exec-id "$exec_id" "$@" -- sh -c "$script"
}

@test "execs without a terminal: several at once, each with its own output and exit code" {
  start_events_server
  new_bundle "$CTR"
  run_ctr "$CTR"
  local i pids=""
  for i in 1 2 3; do
    run exec_sh "$CTR" "e$i" "while [ ! -e /go ]; do sleep 0.1; done; echo out-$i; echo err-$i >&2; exit 1$i" \
      --stdout "file://$LIMAN_TMP/e$i.out" --stderr "file://$LIMAN_TMP/e$i.err"
    assert_success
    run ctl "$CTR" start --exec-id "e$i" --field pid
    assert_success
    [ "$output" -gt 0 ] || fail "Start of e$i returned pid '$output'"
    pids="$pids $output"
  done
  assert_eq "$(tr ' ' '\n' <<<"$pids" | sed '/^$/d' | sort -u | wc -l)" 3 "distinct exec pids ($pids)"
  for i in 1 2 3; do
    assert_eq "$(task_status "$CTR" --exec-id "e$i")" RUNNING "status of e$i"
  done

  run exec_sh "$CTR" e1 true
  assert_failure
  assert_output_contains ALREADY_EXISTS
  run exec_sh "$CTR" "" true
  assert_failure
  assert_output_contains INVALID_ARGUMENT

  touch "$(bundle_dir "$CTR")/rootfs/go"
  for i in 1 2 3; do
    assert_eq "$(exit_of "$CTR" --exec-id "e$i")" "1$i" "exit status of e$i"
    wait_grep "$LIMAN_TMP/e$i.out" "^out-$i\$"
    wait_grep "$LIMAN_TMP/e$i.err" "^err-$i\$"
    ! grep -q err "$LIMAN_TMP/e$i.out" || fail "stderr of e$i in its stdout"
    run ctl "$CTR" delete --exec-id "e$i" --field exit_status
    assert_success
    assert_eq "$output" "1$i" "Delete exit_status of e$i"
  done
  run ctl "$CTR" state --exec-id e1
  assert_failure
  assert_output_contains NOT_FOUND
  assert_eq "$(task_status "$CTR")" RUNNING "the init after its execs"

  wait_event /tasks/exec-added ".event.exec_id == \"e2\"" >/dev/null
  wait_event /tasks/exec-started ".event.exec_id == \"e2\" and .event.pid > 0" >/dev/null
  wait_event /tasks/exit ".event.id == \"e2\" and .event.exit_status == 12" >/dev/null
}

@test "exec with a terminal: output through the pty; ResizePty is what stty sees" {
  new_bundle "$CTR"
  run_ctr "$CTR"
  run exec_sh "$CTR" t 'tty; while [ ! -e /go ]; do sleep 0.1; done; stty size' \
    --terminal --stdout "file://$LIMAN_TMP/t.out"
  assert_success
  run ctl "$CTR" start --exec-id t
  assert_success
  run ctl "$CTR" resize --exec-id t 100 40
  assert_success
  touch "$(bundle_dir "$CTR")/rootfs/go"
  assert_eq "$(exit_of "$CTR" --exec-id t)" 0 "exit status"
  wait_grep "$LIMAN_TMP/t.out" '^40 100'
  wait_grep "$LIMAN_TMP/t.out" '^/dev/pts/'
  # The terminal's line discipline turns \n into \r\n: proof the output went through a pty.
  grep -q $'\r' "$LIMAN_TMP/t.out" || fail "no CR in the output: not through a terminal"
}

@test "init with a terminal, resized before it reads its size" {
  new_bundle "$CTR" --jq '.process.terminal = true' \
    --sh 'tty; while [ ! -e /go ]; do sleep 0.1; done; stty size; exit 4'
  run_ctr "$CTR" --terminal --stdout "file://$LIMAN_TMP/init.out"
  run ctl "$CTR" resize 120 30
  assert_success
  touch "$(bundle_dir "$CTR")/rootfs/go"
  assert_eq "$(exit_of "$CTR")" 4 "exit status"
  wait_grep "$LIMAN_TMP/init.out" '^/dev/pts/'
  wait_grep "$LIMAN_TMP/init.out" '^30 120'
}

@test "killing an exec with KILL: exit status 137, the init keeps running" {
  new_bundle "$CTR"
  run_ctr "$CTR"
  # This exec's process comes whole from a file (--spec), not from the container's with new args.
  jq '.process | .args = ["sleep", "300"]' "$(bundle_dir "$CTR")/config.json" >"$LIMAN_TMP/process.json"
  run ctl "$CTR" exec --exec-id k --spec "$LIMAN_TMP/process.json"
  assert_success
  ctl_ok "$CTR" start --exec-id k >/dev/null
  run ctl "$CTR" kill --exec-id k KILL
  assert_success
  assert_eq "$(exit_of "$CTR" --exec-id k)" 137 "exit status of the killed exec"
  assert_eq "$(task_status "$CTR")" RUNNING "status of the init"
}

@test "stdin from a FIFO reaches the process; CloseIO ends it" {
  mkfifo "$LIMAN_TMP/in.fifo"
  new_bundle "$CTR" --jq '.process.args = ["cat"]'
  run_ctr "$CTR" --stdin "$LIMAN_TMP/in.fifo" --stdout "file://$LIMAN_TMP/cat.out"
  # The shim holds the FIFO open, so opening its write side does not wait for a reader.
  timeout 30 sh -c 'printf "hello\nworld\n" >"$1"' _ "$LIMAN_TMP/in.fifo" || fail "writing the stdin FIFO"
  wait_grep "$LIMAN_TMP/cat.out" '^world$'
  assert_eq "$(task_status "$CTR")" RUNNING "cat before CloseIO"
  run ctl "$CTR" closeio
  assert_success
  assert_eq "$(exit_of "$CTR")" 0 "exit status of cat after CloseIO"
  assert_eq "$(cat "$LIMAN_TMP/cat.out")" $'hello\nworld' "what cat echoed"
}

@test "stdout to a FIFO whose reader comes late: every line, in order, then EOF" {
  mkfifo "$LIMAN_TMP/out.fifo"
  new_bundle "$CTR" --jq '.process.args = ["seq", "1", "20000"]'
  run_ctr "$CTR" --stdout "$LIMAN_TMP/out.fifo"
  # 20000 lines (108 kB) are more than a pipe holds: the shim must keep them until a reader comes.
  sleep 1
  local rc=0
  timeout 120 cat "$LIMAN_TMP/out.fifo" >"$LIMAN_TMP/got" || rc=$?
  [ "$rc" -eq 0 ] || fail "reading the FIFO: status $rc (124: no EOF within 120 s); $(wc -l <"$LIMAN_TMP/got") lines read"
  seq 1 20000 >"$LIMAN_TMP/want"
  cmp -s "$LIMAN_TMP/want" "$LIMAN_TMP/got" ||
    fail "lines differ: $(diff "$LIMAN_TMP/want" "$LIMAN_TMP/got" | head -5)"
  assert_eq "$(exit_of "$CTR")" 0 "exit status of seq"
}

@test "binary:// logger: gets stdout on fd 3, stderr on fd 4, the container's id in CONTAINER_ID" {
  local logger="$LIMAN_TMP/logger.sh"
  cat >"$logger" <<EOF
#!/bin/sh
# containerd's binary logging protocol: stdout on fd 3, stderr on fd 4, fd 5 closed once ready.
exec 5>&-
printf '%s\n' "\$CONTAINER_ID" "\$CONTAINER_NAMESPACE" "\$*" >'$LIMAN_TMP/logger.env'
cat <&3 >'$LIMAN_TMP/logger.out' &
cat <&4 >'$LIMAN_TMP/logger.err' &
wait
EOF
  chmod 0755 "$logger"
  new_bundle "$CTR" --sh 'echo to-stdout; echo to-stderr >&2'
  run_ctr "$CTR" --stdout "binary://$logger?tag=logger-arg" --stderr "binary://$logger?tag=logger-arg"
  assert_eq "$(exit_of "$CTR")" 0 "exit status"
  wait_grep "$LIMAN_TMP/logger.out" '^to-stdout$'
  wait_grep "$LIMAN_TMP/logger.err" '^to-stderr$'
  wait_grep "$LIMAN_TMP/logger.env" 'logger-arg'
  assert_eq "$(sed -n 1p "$LIMAN_TMP/logger.env")" "$CTR" "CONTAINER_ID"
  assert_eq "$(sed -n 2p "$LIMAN_TMP/logger.env")" "$SHIM_NS" "CONTAINER_NAMESPACE"
}

@test "json-file:// with max-size=4k, max-file=3: three files of JSON lines, the newest lines contiguous" {
  mkdir -p "$LIMAN_TMP/logs"
  local log="$LIMAN_TMP/logs/ctr.log"
  new_bundle "$CTR" --jq '.process.args = ["seq", "1", "5000"]'
  run_ctr "$CTR" --stdout "json-file://$log?max-size=4k&max-file=3"
  assert_eq "$(exit_of "$CTR")" 0 "exit status"
  wait_grep "$log" '"log":"5000\\n"'

  local files=("$log"*)
  assert_eq "${#files[@]}" 3 "number of log files (${files[*]##*/})"
  local f
  for f in "${files[@]}"; do
    jq -e 'select((.log | type) != "string" or .stream != "stdout" or (.time | type) != "string")' "$f" \
      >"$LIMAN_TMP/bad-lines" 2>&1 || true
    if ! jq -e . "$f" >/dev/null 2>&1 || [ -s "$LIMAN_TMP/bad-lines" ]; then
      fail "$f: lines that are not {log, stream: stdout, time}: $(head -3 "$LIMAN_TMP/bad-lines")"
    fi
    [ "$(stat -c %s "$f")" -le $((4096 + 200)) ] || fail "$f is $(stat -c %s "$f") bytes, over max-size 4k"
  done
  # Oldest file first (by its first line's number), the numbers must run on without a gap up to 5000.
  local order
  order="$(for f in "${files[@]}"; do echo "$(head -1 "$f" | jq -r '.log | rtrimstr("\n")') $f"; done |
    sort -n | cut -d' ' -f2-)"
  local numbers
  numbers="$(while read -r f; do jq -r '.log | rtrimstr("\n")' "$f"; done <<<"$order")"
  local first
  first="$(head -1 <<<"$numbers")"
  assert_eq "$numbers" "$(seq "$first" 5000)" "lines in the rotated files, oldest first"
  [ "$first" -gt 1 ] || fail "nothing was rotated away"
}

@test "OOM: a process beyond its 8 MiB memory limit is killed (137) and /tasks/oom is published" {
  start_events_server
  new_bundle "$CTR" --jq '.process.args = ["checker", "alloc", "64"] | .linux.resources.memory.limit = 8388608'
  run_ctr "$CTR" --stdout "file://$LIMAN_TMP/out.log" --stderr "file://$LIMAN_TMP/out.log"
  assert_eq "$(exit_of "$CTR")" 137 "exit status"
  ! grep -q alloc=ok "$LIMAN_TMP/out.log" || fail "the process allocated 64 MiB under an 8 MiB limit"
  wait_event /tasks/oom ".event.container_id == \"$CTR\"" >/dev/null
}

@test "stats report the cgroup's memory usage; pids lists the init and an exec" {
  new_bundle "$CTR"
  run_ctr "$CTR"
  local init_pid exec_pid
  init_pid="$(jq -r .pid "$LIMAN_TMP/create-$CTR.json")"
  ctl_ok "$CTR" exec --exec-id s -- sleep 300 >/dev/null
  exec_pid="$(ctl_ok "$CTR" start --exec-id s --field pid)"

  run ctl "$CTR" stats
  assert_success
  [ "$(jq -r '.stats["@type"]' <<<"$output")" != null ] || fail "no stats: $output"
  jq -e '.stats.memory.usage.usage | tonumber > 0' <<<"$output" >/dev/null ||
    fail "no memory usage in the stats: $output"

  run ctl "$CTR" pids
  assert_success
  jq -e --argjson p "$init_pid" '[.processes[].pid] | index($p) != null' <<<"$output" >/dev/null ||
    fail "init pid $init_pid not in $output"
  jq -e --argjson p "$exec_pid" '[.processes[].pid] | index($p) != null' <<<"$output" >/dev/null ||
    fail "exec pid $exec_pid not in $output"
}

@test "update applies new resource limits to the container's cgroup" {
  new_bundle "$CTR"
  run_ctr "$CTR"
  echo '{"pids": {"limit": 57}, "memory": {"limit": 67108864}}' >"$LIMAN_TMP/resources.json"
  run ctl "$CTR" update "$LIMAN_TMP/resources.json"
  assert_success
  assert_eq "$(cg_read pids pids.max pids.max "$CG_PARENT/$CTR")" 57 "pids limit after Update"
  assert_eq "$(cg_read memory memory.limit_in_bytes memory.max "$CG_PARENT/$CTR")" 67108864 "memory limit after Update"
  assert_eq "$(task_status "$CTR")" RUNNING "status after Update"
}

@test "30 execs with and 30 without a terminal leave the shim no extra descriptors and no zombies" {
  new_bundle "$CTR"
  run_ctr "$CTR"
  local shim
  shim="$(shim_pid "$CTR")"
  one_exec() {
    local exec_id="$1"
    shift
    ctl_ok "$CTR" exec --exec-id "$exec_id" "$@" --stdout "file://$LIMAN_TMP/$exec_id.out" -- sh -c 'echo hi' >/dev/null &&
      ctl_ok "$CTR" start --exec-id "$exec_id" >/dev/null &&
      [ "$(exit_of "$CTR" --exec-id "$exec_id")" = 0 ] &&
      ctl_ok "$CTR" delete --exec-id "$exec_id" >/dev/null
  }
  # One of each first: whatever the shim opens once and keeps (an events connection…) is baseline.
  one_exec warm-plain || fail "warm-up exec"
  one_exec warm-tty --terminal || fail "warm-up exec with a terminal"
  local base i prev
  base="$(fd_count "$shim")"
  for i in $(seq 20); do  # until a closed client connection has been noticed
    sleep 0.2
    prev="$base"
    base="$(fd_count "$shim")"
    [ "$base" != "$prev" ] || break
  done
  [ "$base" -gt 3 ] || fail "shim $shim has $base descriptors: not the shim?"
  ls -l "/proc/$shim/fd" >"$LIMAN_TMP/fds-before"

  for i in $(seq 30); do
    one_exec "plain-$i" || fail "exec plain-$i"
    one_exec "tty-$i" --terminal || fail "exec tty-$i"
  done

  local deadline=$((SECONDS + 30)) now
  while :; do
    now="$(fd_count "$shim")"
    [ "$now" -gt "$base" ] || break
    if [ "$SECONDS" -ge "$deadline" ]; then
      ls -l "/proc/$shim/fd" >"$LIMAN_TMP/fds-after"
      fail "the shim has $now descriptors, $base before the execs: $(diff "$LIMAN_TMP/fds-before" "$LIMAN_TMP/fds-after")"
    fi
    sleep 0.2
  done
  deadline=$((SECONDS + 30))
  while children_of "$shim" | grep -q ' Z$'; do
    [ "$SECONDS" -lt "$deadline" ] || fail "zombie children of the shim: $(children_of "$shim" | grep ' Z$' | tr '\n' ' ')"
    sleep 0.2
  done
  [ -d "/proc/$shim" ] || fail "the shim died"
  assert_eq "$(task_status "$CTR")" RUNNING "the init after the execs"
}
