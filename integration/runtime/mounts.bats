#!/usr/bin/env bats
# mounts, root.readonly, maskedPaths, readonlyPaths, default and extra devices, propagation.

load helpers

setup() {
  liman_setup
  HOSTDIR="$LIMAN_TMP/host"
  mkdir -p "$HOSTDIR"
  echo hello >"$HOSTDIR/data"
}
teardown() { liman_teardown; }

# add_mount DEST TYPE SOURCE OPTIONS_JSON
add_mount() {
  jq_config --arg d "$1" --arg t "$2" --arg s "$3" --argjson o "$4" \
    '.mounts += [{"destination": $d, "type": $t, "source": $s, "options": $o}]'
}

@test "bind mounts: read-write and read-only" {
  add_mount /mnt/rw bind "$HOSTDIR" '["bind"]'
  add_mount /mnt/ro bind "$HOSTDIR" '["bind","ro"]'
  set_args '"checker","read","/mnt/ro/data","write","/mnt/rw/new","from-container","write","/mnt/ro/x","y"'
  run runtime_run "$CTR"
  assert_failure
  assert_output_contains hello
  assert_eq "$(grep '^write=' <<<"$output" | paste -sd' ')" "write=ok write=EROFS" "writes (rw, ro)"
  assert_eq "$(cat "$HOSTDIR/new")" from-container "file written through the rw bind"
  [ ! -e "$HOSTDIR/x" ] || fail "file written through the ro bind"
}

@test "a bind mount of a single file onto a missing destination" {
  add_mount /etc/liman/data.txt bind "$HOSTDIR/data" '["bind","ro"]'
  set_args '"checker","read","/etc/liman/data.txt","stat","/etc/liman/data.txt"'
  run runtime_run "$CTR"
  assert_success
  assert_output_contains hello
  assert_field type file
}

@test "rbind carries submounts, bind does not" {
  mkdir -p "$HOSTDIR/sub"
  mount -t tmpfs -o size=1m liman-test-sub "$HOSTDIR/sub"
  echo inner >"$HOSTDIR/sub/inner"
  add_mount /mnt/b bind "$HOSTDIR" '["bind"]'
  add_mount /mnt/r bind "$HOSTDIR" '["rbind"]'
  set_args '"checker","ls","/mnt/b/sub","read","/mnt/r/sub/inner"'
  run runtime_run "$CTR"
  assert_success
  # ls of the plain bind's empty sub/ prints nothing; the rbind shows the tmpfs content.
  assert_eq "$output" inner "output"
}

@test "a bind mount of a missing source fails" {
  add_mount /mnt/x bind "$LIMAN_TMP/liman-no-such-dir" '["bind"]'
  run ctr_create "$CTR"
  assert_failure
  run runtime state "$CTR"
  assert_failure
}

@test "tmpfs mount with size, mode and flags" {
  add_mount /mnt/t tmpfs tmpfs '["nosuid","nodev","noexec","size=1m","mode=0750"]'
  set_args '"checker","statfs","/mnt/t","stat","/mnt/t"'
  run runtime_run "$CTR"
  assert_success
  assert_field fstype tmpfs
  assert_field size 1048576
  assert_field flags nosuid,nodev,noexec
  assert_field mode 0750
}

@test "mount destinations are created, nested mounts are made in order" {
  add_mount /mnt/a/b/c tmpfs tmpfs '["size=64k"]'
  add_mount /mnt/a/b/c/d tmpfs tmpfs '["size=128k"]'
  set_args '"checker","statfs","/mnt/a/b/c/d","ls","/mnt/a/b/c"'
  run runtime_run "$CTR"
  assert_success
  assert_field size 131072
  assert_output_matches '^d$'
}

@test "proc, sysfs, devpts, shm, mqueue and cgroup are mounted" {
  set_args '"checker","statfs","/proc","statfs","/sys","statfs","/dev/pts","statfs","/dev/shm","statfs","/dev/mqueue","statfs","/dev","mountinfo"'
  run runtime_run "$CTR"
  assert_success
  assert_eq "$(grep '^fstype=' <<<"$output" | cut -d= -f2 | tr '\n' ' ')" \
    "proc sysfs devpts tmpfs mqueue tmpfs " "filesystem types"
  # /sys is read-only in runc's default spec.
  assert_eq "$(grep '^flags=' <<<"$output" | sed -n 2p)" "flags=ro,nosuid,nodev,noexec" "/sys flags"
  if cgroup_v2_only; then
    assert_output_matches ' /sys/fs/cgroup [^ ]+ (.* )?- cgroup2 '
  else
    assert_output_matches ' /sys/fs/cgroup/memory [^ ]+ (.* )?- cgroup '
    assert_output_matches ' /sys/fs/cgroup/pids [^ ]+ (.* )?- cgroup '
  fi
}

@test "a read-only root makes writes to / fail with EROFS" {
  jq_config '.root.readonly = true'
  set_args '"checker","write","/liman-x","y","write","/tmp/liman-y","y","write","/dev/shm/z","z","statfs","/"'
  run runtime_run "$CTR"
  assert_failure
  assert_eq "$(grep -c '^write=EROFS$' <<<"$output")" 2 "EROFS writes"
  assert_eq "$(grep -c '^write=ok$' <<<"$output")" 1 "writes to /dev/shm"
  [[ "$(field flags)" == ro* ]] || fail "/ flags: $(field flags)"
  [ ! -e "$ROOTFS/liman-x" ] || fail "file created in the rootfs"
}

@test "maskedPaths: a file reads empty as /dev/null, a directory is an empty read-only tmpfs" {
  echo SECRET >"$ROOTFS/etc/secret-file"
  mkdir -p "$ROOTFS/etc/secret-dir"
  echo SECRET >"$ROOTFS/etc/secret-dir/file"
  jq_config '.linux.maskedPaths += ["/etc/secret-file", "/etc/secret-dir", "/liman-no-such-path"]'
  set_args '"checker","read","/etc/secret-file","ls","/etc/secret-dir","stat","/etc/secret-file","statfs","/etc/secret-dir","write","/etc/secret-dir/x","y"'
  run runtime_run "$CTR"
  assert_failure
  assert_output_not_contains SECRET
  assert_output_not_contains "read="
  assert_field type chr
  assert_field major 1
  assert_field minor 3
  assert_field fstype tmpfs
  assert_field write EROFS
  [[ "$(field flags)" == ro* ]] || fail "masked dir flags: $(field flags)"
}

@test "the spec's default maskedPaths are masked" {
  # Whatever `spec` lists (runc: /proc/kcore, /proc/keys, /sys/firmware, ...) and exists here.
  local p args=() files=() dirs=()
  while read -r p; do
    if [ -f "$p" ]; then files+=("$p"); args+=("\"stat\",\"$p\",\"read\",\"$p\"")
    elif [ -d "$p" ]; then dirs+=("$p"); args+=("\"ls\",\"$p\"")
    fi
  done < <(jq -r '.linux.maskedPaths[]' "$BUNDLE/config.json")
  [ "${#files[@]}" -gt 0 ] || skip "no masked file exists on this host"
  set_args "\"checker\",$(IFS=,; echo "${args[*]}")"
  run runtime_run "$CTR"
  assert_success
  # Only the stat lines of the files, nothing read, nothing listed.
  assert_eq "$(grep -c '^type=chr$' <<<"$output")" "${#files[@]}" "masked files as char devices"
  assert_eq "$(grep -c '^major=1$' <<<"$output")" "${#files[@]}" "major 1"
  assert_eq "$(grep -c '^minor=3$' <<<"$output")" "${#files[@]}" "minor 3"
  assert_eq "$(grep -cvE '^(type|major|minor|mode|uid|gid|size|ino)=' <<<"$output")" 0 "other output"
}

@test "readonlyPaths: writes fail with EROFS, reads work" {
  mkdir -p "$ROOTFS/etc/rodir"
  echo data >"$ROOTFS/etc/rodir/file"
  jq_config '.linux.readonlyPaths += ["/etc/rodir", "/liman-no-such-path"]'
  set_args '"checker","read","/etc/rodir/file","write","/etc/rodir/file","x","write","/proc/sys/kernel/hostname","x","write","/etc/rw","ok"'
  run runtime_run "$CTR"
  assert_failure
  assert_output_contains data
  assert_eq "$(grep -c '^write=EROFS$' <<<"$output")" 2 "EROFS writes"
  assert_eq "$(cat "$ROOTFS/etc/rodir/file")" data "file content"
  assert_eq "$(cat "$ROOTFS/etc/rw")" ok "write outside readonlyPaths"
}

@test "default devices have the right type, numbers and mode" {
  set_args '"checker","stat","/dev/null","stat","/dev/zero","stat","/dev/full","stat","/dev/random","stat","/dev/urandom","stat","/dev/tty"'
  run runtime_run "$CTR"
  assert_success
  assert_eq "$(grep -E '^(type|major|minor|mode)=' <<<"$output" | cut -d= -f2 | paste -sd' ')" \
    "chr 1 3 0666 chr 1 5 0666 chr 1 7 0666 chr 1 8 0666 chr 1 9 0666 chr 5 0 0666" "devices"
}

@test "/dev/fd, /dev/stdin, /dev/stdout, /dev/stderr and /dev/ptmx symlinks, /dev/shm" {
  set_args '"checker","stat","/dev/fd","stat","/dev/stdin","stat","/dev/stdout","stat","/dev/stderr","stat","/dev/ptmx","stat","/dev/shm","stat","/dev/pts/ptmx"'
  run runtime_run "$CTR"
  assert_success
  assert_eq "$(grep '^target=' <<<"$output" | cut -d= -f2 | paste -sd' ')" \
    "/proc/self/fd /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2 pts/ptmx" "symlink targets"
  assert_eq "$(grep '^type=' <<<"$output" | cut -d= -f2 | paste -sd' ')" \
    "symlink symlink symlink symlink symlink dir chr" "types"
}

@test "linux.devices creates extra device nodes with mode and owner" {
  jq_config '.linux.devices = [
      {"path": "/dev/liman-kmsg", "type": "c", "major": 1, "minor": 11, "fileMode": 416, "uid": 12, "gid": 34},
      {"path": "/dev/sub/liman-blk", "type": "b", "major": 7, "minor": 200, "fileMode": 384, "uid": 0, "gid": 0}]'
  set_args '"checker","stat","/dev/liman-kmsg","stat","/dev/sub/liman-blk"'
  run runtime_run "$CTR"
  assert_success
  assert_eq "$(grep -E '^(type|major|minor|mode|uid|gid)=' <<<"$output" | cut -d= -f2 | paste -sd' ')" \
    "chr 1 11 0640 12 34 blk 7 200 0600 0 0" "device nodes"
}

# setup_shared_hostdir: makes $HOSTDIR a shared mount point, so propagation can be observed.
setup_shared_hostdir() {
  mount --bind "$HOSTDIR" "$HOSTDIR"
  mount --make-shared "$HOSTDIR"
}

@test "mount propagation options: rslave receives host mounts, rprivate does not" {
  setup_shared_hostdir
  mkdir -p "$HOSTDIR/later"
  add_mount /mnt/slave bind "$HOSTDIR" '["rbind","rslave"]'
  add_mount /mnt/private bind "$HOSTDIR" '["rbind","rprivate"]'
  ctr_run_detached "$CTR"
  mount -t tmpfs -o size=1m liman-test-later "$HOSTDIR/later"
  echo arrived >"$HOSTDIR/later/file"
  run runtime exec "$CTR" checker read /mnt/slave/later/file
  assert_success
  assert_eq "$output" arrived "file through the rslave mount"
  run runtime exec "$CTR" checker ls /mnt/private/later
  assert_success
  assert_eq "$output" "" "rprivate mount content"
}

@test "rootfsPropagation private: the container's root has no propagation peers" {
  # The bundle on a shared mount: a runtime that kept the rootfs' propagation would show it.
  mount --bind "$BUNDLE" "$BUNDLE"
  mount --make-rshared "$BUNDLE"
  jq_config '.linux.rootfsPropagation = "private"'
  set_args '"checker","mountinfo"'
  run runtime_run "$CTR"
  assert_success
  local root
  root="$(grep -E '^[0-9]+ [0-9]+ [0-9:]+ [^ ]+ / ' <<<"$output")"
  [ -n "$root" ] || fail "no / in mountinfo"
  [[ "$root" != *shared:* && "$root" != *master:* ]] || fail "root propagation: $root"
}

@test "rootfsPropagation shared: the container's root is a shared mount" {
  skip_if_runc_older_than 1.2.0 "rootfsPropagation=shared leaves / private"
  mount --bind "$BUNDLE" "$BUNDLE"
  mount --make-rshared "$BUNDLE"
  jq_config '.linux.rootfsPropagation = "shared"'
  set_args '"checker","mountinfo"'
  run runtime_run "$CTR"
  assert_success
  assert_output_matches '^[0-9]+ [0-9]+ [0-9:]+ [^ ]+ / [^ ]+ (.* )?shared:[0-9]+'
}

@test "--no-pivot runs the container with the rootfs as /" {
  echo rootfs-marker >"$ROOTFS/marker"
  set_args '"checker","read","/marker","ls","/"'
  run runtime_run "$CTR" --no-pivot
  assert_success
  assert_output_contains rootfs-marker
  assert_output_not_contains work
  assert_output_matches '^checker$|^bin$'
}
