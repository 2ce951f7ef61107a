#!/usr/bin/env bats
# linux.resources and linux.cgroupsPath. Files are read from the v1 controller hierarchies under
# /sys/fs/cgroup/<controller> (hybrid hosts), or from the unified hierarchy on a v2-only host.

load helpers

setup() { liman_setup; }
teardown() { liman_teardown; }

# memory limit without swap on top of it (memsw only exists with swap accounting; without it
# swappiness 0 keeps the cgroup from swapping).
set_memory_limit() {
  if cgroup_v2_only || [ -e /sys/fs/cgroup/memory/memory.memsw.limit_in_bytes ]; then
    jq_config --argjson l "$1" '.linux.resources.memory = {"limit": $l, "swap": $l}'
  else
    jq_config --argjson l "$1" '.linux.resources.memory = {"limit": $l, "swappiness": 0}'
  fi
}

@test "memory limit is written and allocating beyond it gets the process OOM-killed" {
  set_memory_limit 33554432
  set_args '"checker","alloc","8"'
  run runtime_run "$CTR"
  assert_success
  assert_field alloc ok

  set_args '"sh","-c","cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; exec checker alloc 256"'
  run runtime_run "$CTR-b"
  # Killed by SIGKILL (the cgroup OOM killer): the runtime reports 128 + 9.
  assert_status 137
  assert_output_contains 33554432
  assert_output_not_contains "alloc=ok"
}

@test "memory reservation sets the soft limit" {
  cgroup_v2_only && skip "v1 file checked: memory.soft_limit_in_bytes"
  jq_config '.linux.resources.memory = {"limit": 134217728, "reservation": 67108864}'
  ctr_run_detached "$CTR"
  assert_eq "$(cat "/sys/fs/cgroup/memory$CG_PARENT/$CTR/memory.soft_limit_in_bytes")" 67108864 \
    "memory.soft_limit_in_bytes"
  assert_eq "$(cat "/sys/fs/cgroup/memory$CG_PARENT/$CTR/memory.limit_in_bytes")" 134217728 \
    "memory.limit_in_bytes"
}

@test "pids limit is written and forks beyond it fail with EAGAIN" {
  jq_config '.linux.resources.pids = {"limit": 10}'
  set_args '"checker","fork","20"'
  run runtime_run "$CTR"
  assert_success
  # The checker itself is one of the 10.
  assert_field forked 9
  assert_field fork_errno EAGAIN

  ctr_run_detached "$CTR-b"
  assert_eq "$(cg_read pids pids.max pids.max "$CG_PARENT/$CTR-b")" 10 "pids.max"
}

@test "cpu shares, quota and period are written" {
  jq_config '.linux.resources.cpu = {"shares": 512, "quota": 50000, "period": 100000}'
  ctr_run_detached "$CTR"
  local cg="$CG_PARENT/$CTR"
  if cgroup_v2_only; then
    # runc's conversion: weight = 1 + ((shares - 2) * 9999) / 262142
    assert_eq "$(cat "/sys/fs/cgroup$cg/cpu.weight")" $((1 + ((512 - 2) * 9999) / 262142)) "cpu.weight"
    assert_eq "$(cat "/sys/fs/cgroup$cg/cpu.max")" "50000 100000" "cpu.max"
  else
    assert_eq "$(cat "/sys/fs/cgroup/cpu$cg/cpu.shares")" 512 "cpu.shares"
    assert_eq "$(cat "/sys/fs/cgroup/cpu$cg/cpu.cfs_quota_us")" 50000 "cpu.cfs_quota_us"
    assert_eq "$(cat "/sys/fs/cgroup/cpu$cg/cpu.cfs_period_us")" 100000 "cpu.cfs_period_us"
  fi
}

@test "update changes cpu shares and quota" {
  cgroup_v2_only && skip "v1 files checked"
  ctr_run_detached "$CTR"
  runtime update --cpu-share 256 --cpu-period 200000 --cpu-quota 40000 "$CTR"
  local d="/sys/fs/cgroup/cpu$CG_PARENT/$CTR"
  assert_eq "$(cat "$d/cpu.shares")" 256 "cpu.shares"
  assert_eq "$(cat "$d/cpu.cfs_period_us")" 200000 "cpu.cfs_period_us"
  assert_eq "$(cat "$d/cpu.cfs_quota_us")" 40000 "cpu.cfs_quota_us"
}

@test "cpuset cpus and mems are applied" {
  jq_config '.linux.resources.cpu = {"cpus": "0", "mems": "0"}'
  set_args '"sh","-c","checker affinity; exec checker sleep 300"'
  ctr_run_detached "$CTR"
  wait_log "$CTR" '^cpus='
  run ctr_log "$CTR"
  assert_field cpus 0
  assert_eq "$(cat "$(cg_dir cpuset "$CG_PARENT/$CTR")/cpuset.cpus")" 0 "cpuset.cpus"
  assert_eq "$(cat "$(cg_dir cpuset "$CG_PARENT/$CTR")/cpuset.mems")" 0 "cpuset.mems"
}

@test "an absolute cgroupsPath is used as is in every hierarchy" {
  set_args '"checker","cgroup","sleep","300"'
  ctr_run_detached "$CTR"
  wait_log "$CTR" 'memory'
  run ctr_log "$CTR"
  local want="$CG_PARENT/$CTR" pid
  pid="$(ctr_pid "$CTR")"
  if cgroup_v2_only; then
    assert_output_contains "0::$want"
  else
    local c
    for c in memory pids cpu freezer devices; do
      assert_output_matches "^[0-9]+:([a-z_]+,)*$c(,[a-z_]+)*:$want\$"
      grep -qx "$pid" "/sys/fs/cgroup/$c$want/cgroup.procs" || fail "$pid not in $c$want"
    done
  fi
}

@test "a relative cgroupsPath is placed below the runtime's own cgroup" {
  CG_CUSTOM=1
  jq_config --arg p "$TEST_TAG/$CTR" '.linux.cgroupsPath = $p'
  ctr_run_detached "$CTR"
  local pid got c
  pid="$(ctr_pid "$CTR")"
  for c in memory pids; do
    if cgroup_v2_only; then
      got="$(sed -n 's/^0:://p' "/proc/$pid/cgroup")"
    else
      got="$(awk -F: -v c="$c" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' "/proc/$pid/cgroup")"
    fi
    # runc puts it below its own cgroup; any runtime must keep the relative part intact.
    [[ "$got" == */"$TEST_TAG/$CTR" ]] || fail "$c cgroup is $got"
    [[ "$got" == "$(own_cgroup "$c" | sed 's:/$::')/$TEST_TAG/$CTR" ]] ||
      fail "$c cgroup $got is not below the runtime's own $(own_cgroup "$c")"
    [ -d "$(cg_dir "$c" "$got")" ] || fail "no dir for $got"
  done
}

@test "the devices cgroup denies opening device nodes that are not allowed" {
  # mknod itself is allowed by runc's default rules ("b *:* m", "c *:* m"); opening is what the
  # device list guards.
  jq_config '.process.capabilities.bounding += ["CAP_MKNOD"] | .process.capabilities.effective += ["CAP_MKNOD"]
    | .process.capabilities.permitted += ["CAP_MKNOD"]
    | .linux.resources.devices += [{"allow": true, "type": "c", "major": 1, "minor": 11, "access": "rwm"}]'
  set_args '"sh","-c","mknod /tmp/sda b 8 0 && mknod /tmp/kmsg c 1 11 && mknod /tmp/mem c 1 1 && checker read /tmp/sda write /tmp/kmsg \"\" read /tmp/mem read /dev/null"'
  run runtime_run "$CTR"
  assert_failure
  assert_output_contains "read=EPERM"
  assert_eq "$(grep -c '^read=EPERM$' <<<"$output")" 2 "denied opens (sda, mem)"
  assert_field write ok
}

@test "linux.resources.unified is refused on a cgroup v1 host" {
  cgroup_v2_only && skip "cgroup v2-only host"
  jq_config '.linux.resources.unified = {"pids.max": "10"}'
  run ctr_create "$CTR"
  assert_failure
  run runtime state "$CTR"
  assert_failure
}

@test "cgroup v2 unified resources are written" {
  cgroup_v2_only || skip "needs a cgroup v2-only host (this one is v1/hybrid)"
  jq_config '.linux.resources.unified = {"pids.max": "17"}'
  ctr_run_detached "$CTR"
  assert_eq "$(cat "/sys/fs/cgroup$CG_PARENT/$CTR/pids.max")" 17 "pids.max"
}
