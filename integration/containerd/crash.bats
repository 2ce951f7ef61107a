#!/usr/bin/env bats
# liman-containerd killed with SIGKILL at arbitrary moments, during pulls and container starts:
# after each restart no committed blob is lost or corrupt, a listed image is complete and runs,
# containers started before keep running, and an exit that happened meanwhile keeps its code.

DROPIN_MANAGER=liman-containerd
load ../runtime/helpers
load ../dropin/helpers
load helpers

setup_file() {
  ctrd_setup_file
  [ -z "${DROPIN_SKIP:-}" ] || return 0
  # Three 6 MiB layers of random bytes (gzip cannot shrink them) over busybox: a pull long enough
  # to be interrupted at different points.
  local i
  for i in 1 2 3; do
    mkdir -p "$DROPIN_TMP/big-$i/data"
    head -c $((6 << 20)) /dev/urandom >"$DROPIN_TMP/big-$i/data/blob-$i"
  done
  "$MAKE_OCI_IMAGE" --busybox "$DROPIN_TMP"/big-{1,2,3} --push "$REGISTRY/liman/big:1" >/dev/null ||
    fail "could not push liman/big"
  rm -rf "$DROPIN_TMP"/big-{1,2,3}
}
teardown_file() { ctrd_teardown_file; }
setup() { dropin_setup; }
teardown() { ctr_teardown; }

# kill_and_restart: SIGKILL liman-containerd, start it again on the same root and state.
kill_and_restart() {
  stop_daemon containerd KILL
  run_containerd
}

random_pause() { sleep "0.$((RANDOM % 9 + 1))"; }

@test "SIGKILL during pulls: committed blobs intact, a listed image complete, then the pull finishes" {
  local i pid
  for i in 1 2 3 4 5 6; do
    lctr images pull "$REGISTRY/liman/big:1" >/dev/null 2>&1 &
    pid=$!
    random_pause
    kill_and_restart
    wait "$pid" || true
    assert_content_intact "$LCTR_NS"
    if lctr images ls -q | grep -qx "$REGISTRY/liman/big:1"; then
      run lctr run --rm "$REGISTRY/liman/big:1" check$i sh -c 'cat /data/blob-1 /data/blob-2 /data/blob-3 | wc -c'
      assert_success
      assert_output_contains $((18 << 20))
      lctr images rm "$REGISTRY/liman/big:1" >/dev/null
    fi
  done
  run lctr images pull "$REGISTRY/liman/big:1"
  assert_success
  run lctr run --rm "$REGISTRY/liman/big:1" final sh -c 'cat /data/blob-1 /data/blob-2 /data/blob-3 | wc -c'
  assert_success
  assert_output_contains $((18 << 20))
}

@test "SIGKILL during container starts: running containers survive, no container is left stuck" {
  lctr images pull "$REGISTRY/liman/busybox:latest" >/dev/null
  run lctr run -d "$REGISTRY/liman/busybox:latest" keeper sleep 1000
  assert_success
  wait_lctr_status keeper RUNNING
  local i pid status
  for i in 1 2 3 4; do
    lctr run -d "$REGISTRY/liman/busybox:latest" s$i sleep 1000 >/dev/null 2>&1 &
    pid=$!
    random_pause
    kill_and_restart
    wait "$pid" || true
    wait_lctr_status keeper RUNNING
    # Whatever the kill interrupted can be finished or removed with the usual commands.
    if lctr containers ls -q | grep -qx "s$i"; then
      status="$(lctr_task_status "s$i")"
      case "$status" in
        "" | RUNNING | CREATED | STOPPED) ;;
        *) fail "s$i: task status '$status' after the restart" ;;
      esac
      lctr tasks kill -s SIGKILL "s$i" >/dev/null 2>&1 || true
      [ -z "$status" ] || wait_lctr_status "s$i" STOPPED
      run lctr tasks rm "s$i"
      [ -z "$status" ] || assert_success
      run lctr containers rm "s$i"
      assert_success
    fi
  done
  run lctr tasks ls
  assert_output_contains keeper
  lctr tasks kill -s SIGKILL keeper >/dev/null
  wait_lctr_status keeper STOPPED
}

@test "an exit while liman-containerd is down keeps its exit code" {
  lctr images pull "$REGISTRY/liman/busybox:latest" >/dev/null
  run lctr run -d "$REGISTRY/liman/busybox:latest" x1 sh -c 'read line < /dev/null; sleep 1; exit 5'
  assert_success
  stop_daemon containerd KILL
  sleep 2
  run_containerd
  wait_lctr_status x1 STOPPED
  # ctr reports a non-zero exit status on delete as a warning.
  run ctr_ns "$LCTR_NS" tasks delete x1
  assert_success
  assert_output_contains "non-zero exit code 5"
  lctr containers rm x1 >/dev/null
}
