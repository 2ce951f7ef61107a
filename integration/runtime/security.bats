#!/usr/bin/env bats
# Security properties: seccomp, descriptor leaks, cwd breakouts, the runtime binary's exposure,
# masking with a real /dev/null, symlinked mount destinations, id-mapping validation.

load helpers

setup() { liman_setup; }
teardown() { liman_teardown; }

# seccomp_rules RULES_JSON: allow by default, plus RULES_JSON (a list of syscall objects).
seccomp_rules() {
  jq_config --argjson r "$1" '.linux.seccomp = {
      "defaultAction": "SCMP_ACT_ALLOW",
      "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      "syscalls": $r}'
}

@test "seccomp: a rule's errnoRet is the errno the syscall fails with" {
  seccomp_rules '[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}]'
  set_args '"checker","seccomp","mkdir","/tmp/a"'
  run runtime_run "$CTR"
  assert_failure
  assert_field Seccomp 2
  assert_field mkdir EPERM
  [ ! -d "$ROOTFS/tmp/a" ] || fail "directory created"

  seccomp_rules '[{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}]'
  run runtime_run "$CTR-b"
  assert_failure
  assert_field mkdir EACCES
}

@test "seccomp: an argument filter only matches the given argument" {
  # mkdir(path, mode): fail only mode 0700 (448).
  seccomp_rules '[{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13,
                   "args": [{"index": 1, "value": 448, "op": "SCMP_CMP_EQ"}]}]'
  set_args '"checker","mkdir-mode","/tmp/a","0700","mkdir-mode","/tmp/b","0755"'
  run runtime_run "$CTR"
  assert_failure
  assert_eq "$(paste -sd' ' <<<"$output")" "mkdir=EACCES mkdir=ok" "results"
  [ ! -d "$ROOTFS/tmp/a" ] && [ -d "$ROOTFS/tmp/b" ] || fail "directories"
}

@test "seccomp: SCMP_ACT_KILL kills the process with SIGSYS" {
  seccomp_rules '[{"names": ["mkdir"], "action": "SCMP_ACT_KILL"}]'
  set_args '"checker","mkdir","/tmp/a"'
  run runtime_run "$CTR"
  assert_status $((128 + 31))
  [ ! -d "$ROOTFS/tmp/a" ] || fail "directory created"
}

@test "no descriptor of the caller or the runtime leaks into the container" {
  set_args '"checker","fds"'
  with_fds() {
    exec 7</etc/hostname 8<"$LIMAN_TMP" 9>>"$LIMAN_TMP/leak.txt"
    runtime_run "$CTR"
  }
  run with_fds
  assert_success
  assert_field nfds 0
}

@test "no descriptor leaks into a process started by exec" {
  ctr_run_detached "$CTR"
  with_fds() {
    exec 7</etc/hostname 8<"$LIMAN_TMP"
    runtime exec "$CTR" checker fds </dev/null
  }
  run with_fds
  assert_success
  assert_field nfds 0
}

@test "a relative cwd is refused" {
  jq_config '.process.cwd = "tmp"'
  run ctr_create "$CTR"
  assert_failure
  run runtime state "$CTR"
  assert_failure
}

@test "cwd with .. components stays inside the rootfs" {
  jq_config '.process.cwd = "/../../../../.."'
  set_args '"checker","cwd","ls",".."'
  run runtime_run "$CTR"
  assert_success
  assert_field cwd /
  assert_output_matches '^bin$'
  assert_output_not_contains bundle
}

@test "cwd through /proc/self/fd/N cannot reach a host directory (CVE-2024-21626)" {
  # Whatever descriptor number the runtime might still hold (N = 3..12), including one the caller
  # opened on a host directory: the process either does not start or sits inside the container.
  mkdir -p "$LIMAN_TMP/hostdir"
  local n
  for n in $(seq 3 12); do
    jq_config --arg c "/proc/self/fd/$n" '.process.cwd = $c'
    set_args '"checker","cwd"'
    with_fds() {
      exec 7<"$LIMAN_TMP/hostdir"
      runtime_run "$CTR-$n"
    }
    run with_fds
    if [ "$status" -eq 0 ]; then
      [[ "$(field cwd)" != *unreachable* ]] || fail "fd $n: cwd outside the container: $output"
      [[ "$(field cwd)" != "$LIMAN_TMP"* ]] || fail "fd $n: host cwd: $output"
    fi
  done
}

@test "the runtime binary cannot be reopened for writing from the container (CVE-2019-5736)" {
  local exe before rt_id checker_id
  exe="$(readlink -f "$RUNTIME")"
  before="$(sha256sum <"$exe")"
  rt_id="$(stat -L -c '%d:%i' "$exe")"
  checker_id="$(stat -c '%d:%i' "$ROOTFS/bin/checker")"
  # The strongest attacker: root with CAP_SYS_PTRACE, so a non-dumpable runtime process does not
  # hide its /proc/PID/exe. The container keeps a handle on every executable it sees while execs
  # come in, then tries to reopen each for writing once those processes are gone.
  jq_config '.process.capabilities.bounding += ["CAP_SYS_PTRACE"]
    | .process.capabilities.effective += ["CAP_SYS_PTRACE"]
    | .process.capabilities.permitted += ["CAP_SYS_PTRACE"]'
  set_args '"checker","exe-scan","6"'
  ctr_run_detached "$CTR"
  local i
  for i in $(seq 8); do
    runtime exec "$CTR" checker sleep 0.2 </dev/null >/dev/null 2>&1 || true
  done
  wait_status "$CTR" stopped
  run ctr_log "$CTR"
  assert_output_matches '^scans=[1-9]'
  # Positive control: the scan did see the exec'd processes.
  assert_output_matches "^exe=$checker_id "
  assert_field writable 0
  # Seeing the binary through a read-only mount (runc 1.1's bind-mount clone) is harmless;
  # reopening it for writing is the breakout.
  if grep -E "^exe=$rt_id " <<<"$output" | grep -q 'reopen=ok$'; then
    fail "the host runtime binary could be reopened for writing: $(grep "^exe=$rt_id " <<<"$output")"
  fi
  assert_eq "$(sha256sum <"$exe")" "$before" "runtime binary checksum"
}

@test "open-exe-rw on the container's own processes fails with ETXTBSY" {
  set_args '"checker","open-exe-rw","self"'
  run runtime_run "$CTR"
  assert_failure
  assert_field open-exe-rw ETXTBSY
}

# rootfs without the /dev tmpfs: whatever is in the image's /dev is what a careless runtime uses.
fake_dev_null_bundle() {
  jq_config '.mounts |= map(select(.destination != "/dev"))
    | .linux.maskedPaths += ["/etc/secret"]'
  echo SECRET >"$ROOTFS/etc/secret"
  echo LINKED >"$ROOTFS/etc/linked"
  mkdir -p "$ROOTFS/dev"
}

@test "maskedPaths use a real /dev/null, not a regular file planted in the image (CVE-2025-31133)" {
  skip_if_runc_older_than 1.2.8 "trusts the image's /dev/null"
  fake_dev_null_bundle
  echo FAKE >"$ROOTFS/dev/null"
  set_args '"checker","read","/etc/secret","stat","/etc/secret"'
  run runtime_run "$CTR"
  # Refusing the bundle is fine; masking with the fake file is not.
  if [ "$status" -eq 0 ]; then
    assert_output_not_contains SECRET
    assert_output_not_contains FAKE
    assert_field type chr
    assert_field major 1
    assert_field minor 3
  fi
  assert_eq "$(cat "$ROOTFS/etc/secret")" SECRET "host copy of the masked file"
}

@test "maskedPaths use a real /dev/null, not a symlink planted in the image (CVE-2025-31133)" {
  skip_if_runc_older_than 1.2.8 "follows the image's /dev/null symlink"
  fake_dev_null_bundle
  ln -s /etc/linked "$ROOTFS/dev/null"
  set_args '"checker","read","/etc/secret","stat","/etc/secret"'
  run runtime_run "$CTR"
  if [ "$status" -eq 0 ]; then
    assert_output_not_contains SECRET
    assert_output_not_contains LINKED
    assert_field type chr
    assert_field major 1
    assert_field minor 3
  fi
  assert_eq "$(cat "$ROOTFS/etc/linked")" LINKED "symlink target untouched"
}

@test "a mount destination through a symlink lands inside the rootfs" {
  local escape="$LIMAN_TMP/escape"
  mkdir -p "$escape" "$escape-rel"
  # Absolute and relative symlinks that point at a host directory if resolved on the host.
  ln -s "$escape" "$ROOTFS/evil"
  ln -s "../../../../../../../../../..$escape-rel" "$ROOTFS/evil-rel"
  jq_config '.mounts += [
      {"destination": "/evil/x", "type": "tmpfs", "source": "tmpfs", "options": ["size=64k"]},
      {"destination": "/evil-rel/y", "type": "tmpfs", "source": "tmpfs", "options": ["size=128k"]}]'
  set_args '"checker","statfs","/evil/x","statfs","/evil-rel/y","sleep","300"'
  ctr_run_detached "$CTR"
  wait_log "$CTR" 'size=131072'
  run ctr_log "$CTR"
  assert_eq "$(grep '^fstype=' <<<"$output" | paste -sd' ')" "fstype=tmpfs fstype=tmpfs" "mounts inside"
  assert_eq "$(ls -A "$escape" "$escape-rel" | grep -v ':$' | grep -c .)" 0 "entries in the host dirs"
  assert_eq "$(awk -v d="$escape" 'index($5, d) == 1' /proc/self/mountinfo | wc -l)" 0 "host mounts"
  # They resolved inside the rootfs instead.
  [ -d "$ROOTFS$escape/x" ] || fail "expected the mount point inside the rootfs: $ROOTFS$escape/x"
}

@test "a mount destination with .. components lands inside the rootfs" {
  local escape="$LIMAN_TMP/escape"
  mkdir -p "$escape"
  jq_config --arg d "/../../../../../../..$escape/z" '.mounts += [
      {"destination": $d, "type": "tmpfs", "source": "tmpfs", "options": ["size=64k"]}]'
  set_args '"checker","sleep","300"'
  ctr_run_detached "$CTR"
  assert_eq "$(ls -A "$escape" | wc -l)" 0 "entries in the host dir"
  [ -d "$ROOTFS$escape/z" ] || fail "expected the mount point inside the rootfs"
}

@test "invalid uid/gid mappings are refused: size 0, uint32 overflow" {
  local m
  for m in '{"containerID": 0, "hostID": 100000, "size": 0}' \
           '{"containerID": 0, "hostID": 4294967000, "size": 1000}' \
           '{"containerID": 4294967290, "hostID": 100000, "size": 100}'; do
    jq_config --argjson m "$m" '.linux.namespaces |= (map(select(.type != "user")) + [{"type": "user"}])
      | .linux.uidMappings = [$m]
      | .linux.gidMappings = [{"containerID": 0, "hostID": 100000, "size": 65536}]'
    run ctr_create "$CTR"
    if [ "$status" -eq 0 ]; then
      fail "mapping $m accepted"
    fi
    run runtime state "$CTR"
    assert_failure
    [ ! -e "$STATE_ROOT/$CTR" ] || fail "state left for mapping $m"
  done
}
