#!/usr/bin/env bats
# limand driven by the real docker CLIs (Debian's 20.10 and the machine's 28.x when present):
# pull with progress from a local registry, images, run (--rm, -d, -i, -t, -e, --name), exit
# codes, ps, logs (-f), inspect, top, stop, kill, restart, rm, rmi, tag, info, version; Docker's
# errors for bad requests; and live restore through SIGKILL of limand and liman-containerd.

bats_require_minimum_version 1.5.0
DROPIN_MANAGER=liman-containerd
load ../runtime/helpers
load ../dropin/helpers
load ../containerd/helpers
load helpers

setup_file() { engine_setup_file; }
teardown_file() { engine_teardown_file; }
setup() { dropin_setup; }
# A test's own registry (docker login's) goes with the test, even when it fails.
teardown() { [ ! -f "$BATS_TEST_TMPDIR/auth-registry/registry.pid" ] || registry_stop "$BATS_TEST_TMPDIR/auth-registry"; }

@test "version and info through both clients: API 1.41, live restore, json-file logging" {
  for cli in $DOCKER_CLIS; do
    run dkc "$cli" version --format '{{.Server.APIVersion}} {{.Server.Version}}'
    assert_success
    assert_eq "$output" "1.41 0.1.0"
    run dkc "$cli" info --format '{{.LoggingDriver}} {{.LiveRestoreEnabled}} {{.OSType}}'
    assert_success
    assert_eq "$output" "json-file true linux"
  done
  run curl -sI --unix-socket "$ENGINE_SOCK" http://d/_ping
  assert_output_contains "Api-Version: 1.41"
  assert_output_contains "Ostype: linux"
  run stat -c '%a' "$ENGINE_SOCK"
  assert_eq "$output" "660"
}

@test "pull shows per-layer progress; images, tag, inspect, history, rmi" {
  run dk pull "$REGISTRY/liman/hello:1"
  assert_success
  assert_output_contains "1: Pulling from liman/hello"
  assert_output_contains "Pull complete"
  assert_output_contains "Digest: sha256:"
  assert_output_contains "Status: Downloaded newer image for $REGISTRY/liman/hello:1"
  run dk pull "$REGISTRY/liman/hello:1"
  assert_output_contains "Status: Image is up to date for $REGISTRY/liman/hello:1"
  for cli in $DOCKER_CLIS; do
    run dkc "$cli" images --format '{{.Repository}}:{{.Tag}}'
    assert_success
    assert_output_contains "$REGISTRY/liman/hello:1"
  done
  run dk tag "$REGISTRY/liman/hello:1" mytag/hello:v2
  assert_success
  local id1 id2
  id1="$(dk inspect -f '{{.Id}}' "$REGISTRY/liman/hello:1")"
  id2="$(dk image inspect -f '{{.Id}}' mytag/hello:v2)"
  assert_eq "$id1" "$id2"
  # docker history: the config's steps newest first; the top one is the image, with its tags.
  for cli in $DOCKER_CLIS; do
    run dkc "$cli" history --no-trunc --format '{{.ID}}|{{.CreatedBy}}|{{.Size}}|' mytag/hello:v2
    assert_success
    assert_eq "$(wc -l <<<"$output")" 3 "history rows"
    [[ "$(sed -n 1p <<<"$output")" == "$id1|make-oci-image: config|0B|" ]] ||
      fail "top row: $(sed -n 1p <<<"$output")"
    [[ "$(sed -n 2p <<<"$output")" =~ ^\<missing\>\|make-oci-image:\ layer\ .*\(hello-layer\)\|[0-9.]+[kMG]?B\| ]] ||
      fail "second row: $(sed -n 2p <<<"$output")"
    [[ "$(sed -n 3p <<<"$output")" =~ ^\<missing\>\|make-oci-image:\ layer\ .*\(busybox-static\)\|[0-9.]+[kMG]B\| ]] ||
      fail "third row: $(sed -n 3p <<<"$output")"
  done
  run api GET /v1.41/images/mytag/hello:v2/history
  assert_eq "$(jq -c '.[0].Tags | sort' <<<"${output#* }")" "[\"$REGISTRY/liman/hello:1\",\"mytag/hello:v2\"]" "tags"
  assert_eq "$(jq -c '[.[1:][] | .Tags]' <<<"${output#* }")" "[null,null]" "tags of the older steps"
  run dk history "$REGISTRY/liman/nothere:1"
  assert_failure
  assert_output_contains "No such image: $REGISTRY/liman/nothere:1"
  run dk run --rm --network none mytag/hello:v2
  assert_success
  assert_output_contains "hello from layer two"
  run dk rmi mytag/hello:v2
  assert_success
  assert_output_contains "Untagged: mytag/hello:v2"
  assert_output_not_contains "Deleted"
  run dk rmi "$REGISTRY/liman/hello:1"
  assert_success
  assert_output_contains "Deleted: $id1"
  run dk image inspect "$REGISTRY/liman/hello:1"
  assert_failure
  assert_output_contains "No such image"
  run dk pull "$REGISTRY/liman/nothere:1"
  assert_failure
  assert_output_contains "manifest unknown"
}

@test "docker run pulls a missing image, passes exit codes and keeps stdout and stderr apart" {
  for cli in $DOCKER_CLIS; do
    dk rmi -f "$IMG" >/dev/null 2>&1 || true
    run dkc "$cli" run --rm --network none -e GREETING=hi "$IMG" sh -c 'echo "out $GREETING"; echo err >&2; exit 3'
    assert_status 3
    assert_output_contains "Unable to find image '$IMG' locally"
    assert_output_contains "out hi"
    [ "$(dkc "$cli" run --rm --network none "$IMG" sh -c 'echo err >&2' 2>/dev/null)" = "" ] ||
      fail "stderr came out on stdout"
    run -127 dkc "$cli" run --rm --network none "$IMG" nosuchcmd
    assert_status 127
    assert_output_contains 'executable file not found'
  done
  run dk ps -aq
  assert_eq "$output" ""
}

@test "the container is isolated: pid 1 in its own pid namespace, only lo, its hostname" {
  run dk run --rm --network none --name iso "$IMG" sh -c 'echo pid=$$; ls /sys/class/net; hostname; cat /etc/hostname'
  assert_success
  assert_output_contains "pid=1"
  assert_eq "$(grep -c . <<<"$(grep -v -e pid= -e '^[0-9a-f]\{12\}$' <<<"$output")")" "1"
  assert_output_contains "lo"
  run dk run --rm --network host "$IMG" hostname
  assert_eq "$output" "$(hostname)"
}

@test "the default bridge network: an address on the run's subnet, the gateway, container to container, host to container" {
  # Without --network: docker 25+ names the endpoint "default" in NetworkingConfig, 20.10 sends none.
  for cli in $DOCKER_CLIS; do
    run dkc "$cli" run --rm "$IMG" sh -c 'ip -o -4 addr show eth0; ip route; tail -n 1 /etc/hosts'
    assert_success
    assert_output_contains "inet $ENGINE_SUBNET."
    assert_output_contains "default via $ENGINE_SUBNET.1 dev eth0"
  done
  dk run -d --name srv "$IMG" sh -c 'echo hello-from-srv >/tmp/index.html; httpd -f -p 80 -h /tmp' >/dev/null
  local ip
  ip="$(dk inspect -f '{{.NetworkSettings.IPAddress}}' srv)"
  [[ "$ip" == "$ENGINE_SUBNET".* ]] || fail "srv's address: '$ip'"
  assert_eq "$(dk inspect -f '{{.NetworkSettings.Gateway}}' srv)" "$ENGINE_SUBNET.1"
  wait_for_value 10 "httpd in srv" hello-from-srv curl -s --max-time 2 "http://$ip/index.html"
  run dk run --rm "$IMG" wget -qO- "http://$ip/index.html"
  assert_success
  assert_eq "$output" "hello-from-srv"
  local veth="veth$(dk inspect -f '{{.Id}}' srv | cut -c1-11)"
  ip link show "$veth" >/dev/null || fail "no host end $veth"
  dk rm -f srv >/dev/null
  ! ip link show "$veth" >/dev/null 2>&1 || fail "$veth is still there after rm"
  run ls "$ENGINE_DIR/exec/netns"
  assert_eq "$output" ""
}

@test "published ports: -p 127.0.0.1:PORT:80 answers on 127.0.0.1, a taken port is refused, mappings go with the container" {
  local port=$((18000 + RANDOM % 1000))
  dk run -d --name pub -p "127.0.0.1:$port:80" "$IMG" sh -c 'echo hello-published >/tmp/index.html; httpd -f -p 80 -h /tmp' >/dev/null
  wait_for_value 10 "httpd behind 127.0.0.1:$port" hello-published curl -s --max-time 2 "http://127.0.0.1:$port/index.html"
  run dk ps --format '{{.Names}} {{.Ports}}'
  assert_output_contains "pub 127.0.0.1:$port->80/tcp"
  run dk run -d --name pub2 -p "127.0.0.1:$port:80" "$IMG" true
  assert_failure
  assert_output_contains "port is already allocated"
  dk run -d --name pub3 -p 80 "$IMG" sleep 300 >/dev/null
  run dk port pub3
  assert_output_matches "^80/tcp -> 0.0.0.0:[0-9]+$"
  # -P publishes every exposed port (--expose here) on a port of its own; the 28.x client too.
  local last_cli="${DOCKER_CLIS##* }"
  dkc "$last_cli" run -d --name pub4 -P --expose 80 --expose 81/udp "$IMG" sh -c 'echo hello-all >/tmp/index.html; httpd -f -p 80 -h /tmp' >/dev/null
  local all_port
  all_port="$(dk inspect -f '{{(index (index .NetworkSettings.Ports "80/tcp") 0).HostPort}}' pub4)"
  [[ "$all_port" =~ ^[0-9]+$ ]] || fail "80/tcp of pub4 is not published: '$all_port'"
  run dk port pub4 81/udp
  assert_output_matches "^0.0.0.0:[0-9]+$"
  wait_for_value 10 "httpd behind -P port $all_port" hello-all curl -s --max-time 2 "http://127.0.0.1:$all_port/index.html"
  dk rm -f pub pub2 pub3 pub4 >/dev/null
  run nft list map ip "liman-$ENGINE_BRIDGE" tcp_ports
  assert_output_not_contains "$port"
  ! curl -s --max-time 2 "http://127.0.0.1:$port/index.html" || fail "port $port still answers"
}

@test "run -d, ps, logs -f, inspect State.Pid, top, stop, restart, kill, rm" {
  run dk run -d --name web --network none "$IMG" sh -c 'trap "echo bye; exit 9" TERM; i=0; while true; do echo line $i; i=$((i+1)); sleep 0.1; done'
  assert_success
  local id="$output"
  for cli in $DOCKER_CLIS; do
    run dkc "$cli" ps --format '{{.Names}} {{.Status}}'
    assert_output_contains "web Up"
  done
  local pid
  pid="$(state web Pid)"
  [ "$pid" -gt 0 ] || fail "State.Pid $pid"
  [ "$(pid_ns "$pid" pid)" != "$(host_ns pid)" ] || fail "the container shares our pid namespace"
  grep -q "sh" "/proc/$pid/cmdline" || fail "State.Pid $pid is not the container's shell"
  run dk top web
  assert_success
  assert_output_contains "$pid"
  run timeout 10 bash -c "DOCKER_HOST=unix://$ENGINE_SOCK ${DOCKER_CLIS%% *} logs -f web | head -n 3"
  assert_output_contains "line 0"
  run dk logs --tail 1 web
  assert_success
  [ "$(wc -l <<<"$output")" -eq 1 ] || fail "tail 1 gave: $output"
  run dk stop web
  assert_success
  assert_eq "$(state web Status) $(state web ExitCode)" "exited 9"
  run dk logs web
  assert_output_contains "bye"
  run dk restart web
  assert_success
  assert_eq "$(state web Status)" "running"
  [ "$(state web Pid)" != "$pid" ] || fail "restart kept the old pid"
  run dk kill web
  assert_success
  assert_eq "$(state web ExitCode)" "137"
  run dk ps -a --filter status=exited --format '{{.Names}}'
  assert_output_contains web
  run dk rm web
  assert_success
  run dk inspect web
  assert_failure
  assert_output_contains "No such object: web"
}

@test "volumes: named volumes persist, ro is enforced, in-use volumes stay, anonymous ones go with --rm" {
  for cli in $DOCKER_CLIS; do
    run dkc "$cli" volume create "vol-${cli//\//-}"
    assert_success
  done
  run dk volume ls --format '{{.Driver}} {{.Name}}'
  assert_output_contains "local vol--usr-bin-docker"
  run dk run --rm --network none -v vol--usr-bin-docker:/data "$IMG" sh -c 'echo persisted >/data/f'
  assert_success
  run dk run --rm --network none -v vol--usr-bin-docker:/data:ro "$IMG" sh -c 'cat /data/f; touch /data/g'
  assert_failure
  assert_output_contains "persisted"
  assert_output_contains "Read-only file system"
  dk run -d --name holder --network none -v vol--usr-bin-docker:/data "$IMG" sleep 300 >/dev/null
  run dk volume rm vol--usr-bin-docker
  assert_failure
  assert_output_contains "volume is in use"
  dk rm -f holder >/dev/null
  run dk volume rm vol--usr-bin-docker
  assert_success
  run dk volume inspect vol--usr-bin-docker
  assert_failure
  assert_output_contains "o such volume"
  local before
  before="$(dk volume ls -q | wc -l)"
  run dk run --rm --network none --mount type=volume,target=/anon "$IMG" sh -c 'touch /anon/x && ls /anon'
  assert_success
  assert_output_contains "x"
  assert_eq "$(dk volume ls -q | wc -l)" "$before"
  run dk run --rm --network none -v /etc/hostname:/host-hostname:ro "$IMG" cat /host-hostname
  assert_eq "$output" "$(cat /etc/hostname)"
}

# How many times the host has something mounted on $1.
host_mounts() { awk -v point="$1" '$5 == point' /proc/self/mountinfo | wc -l; }

@test "volume driver options: a tmpfs volume and a host directory bound as a volume, mounted while in use, through every client; moby's refusals" {
  local cli vol data host_dir="$BATS_TEST_TMPDIR/host-dir"
  mkdir -p "$host_dir"
  echo from-host >"$host_dir/f"
  for cli in $DOCKER_CLIS; do
    vol="tmpvol-${cli//\//-}"
    dkc "$cli" volume create --driver local --opt type=tmpfs --opt device=tmpfs --opt o=size=1m "$vol" >/dev/null
    assert_eq "$(dk volume inspect -f '{{.Options.type}} {{.Options.device}} {{.Options.o}}' "$vol")" "tmpfs tmpfs size=1m" "$cli"
    data="$(dk volume inspect -f '{{.Mountpoint}}' "$vol")"
    assert_eq "$(host_mounts "$data")" 0 "$cli: not mounted before use"
    run dkc "$cli" run --rm --network none -v "$vol:/v" "$IMG" sh -c 'echo kept >/v/f; df -k /v | awk "NR == 2 { print \$2 }"; awk "\$2 == \"/v\" { print \$3 }" /proc/mounts'
    assert_success
    assert_eq "$output" "$(printf '1024\ntmpfs')" "$cli: a 1 MiB tmpfs"
    assert_eq "$(host_mounts "$data")" 0 "$cli: unmounted after the last user"
    # Two users share one mount, which stays until the second one stops.
    dkc "$cli" run -d --name vol-user1 --network none -v "$vol:/v" "$IMG" sh -c 'echo shared >/v/s; sleep 300' >/dev/null
    dkc "$cli" run -d --name vol-user2 --network none -v "$vol:/v" "$IMG" sleep 300 >/dev/null
    wait_for_value 20 "$cli: the second user sees the first one's file" shared dk exec vol-user2 cat /v/s
    assert_eq "$(host_mounts "$data")" 1 "$cli: one mount for two users"
    dk stop -t 1 vol-user1 >/dev/null
    assert_eq "$(dk exec vol-user2 cat /v/s)" shared "$cli: still mounted for the second"
    dk stop -t 1 vol-user2 >/dev/null
    assert_eq "$(host_mounts "$data")" 0 "$cli: unmounted after both stopped"
    dk rm vol-user1 vol-user2 >/dev/null
    dkc "$cli" volume rm "$vol" >/dev/null
  done
  # A host directory as a volume (docker compose's driver_opts: type none, o bind, device).
  dk volume create --opt type=none --opt o=bind --opt device="$host_dir" hostdir-vol >/dev/null
  assert_eq "$(dk run --rm --network none -v hostdir-vol:/h "$IMG" sh -c 'cat /h/f; echo from-container >/h/g')" from-host
  assert_eq "$(cat "$host_dir/g")" from-container "written through to the host directory"
  dk volume rm hostdir-vol >/dev/null
  assert_eq "$(cat "$host_dir/f")" from-host "removing the volume leaves the host directory"
  # --mount with volume-opt makes the volume with those options.
  run dk run --rm --network none --mount type=volume,source=mount-opt-vol,target=/m,volume-opt=type=tmpfs,volume-opt=device=tmpfs "$IMG" \
    awk '$2 == "/m" { print $3 }' /proc/mounts
  assert_eq "$output" tmpfs "--mount volume-opt"
  dk volume rm mount-opt-vol >/dev/null
  local body
  for body in 'colour=blue|invalid option: \"colour\"' 'type=tmpfs|missing required option: \"device\"' \
    'size=10m|quota size requested but no quota support'; do
    run api POST /volumes/create "{\"Name\": \"bad-opts\", \"DriverOpts\": {\"${body%%=*}\": \"$(echo "${body%%|*}" | cut -d= -f2)\"}}"
    assert_output_contains "400 "
    assert_output_contains "${body#*|}"
  done
  run dk volume inspect bad-opts
  assert_failure
}

@test "volumes are filled from the image where they are mounted (named, --mount, anonymous), with its owners and modes, unless nocopy or already used" {
  dk pull -q "$IMG" >/dev/null
  local ctx="$BATS_TEST_TMPDIR/copyup-ctx" cli
  mkdir -p "$ctx"
  cat >"$ctx/Dockerfile" <<EOF
FROM $IMG
RUN mkdir -p /srv/app/sub /data && echo hello >/srv/app/a && echo deep >/srv/app/sub/b && ln -s a /srv/app/link && \\
    chown -R 1000:1001 /srv/app /data && chmod 0750 /srv/app && chmod 0600 /srv/app/a
VOLUME /data
EOF
  dk build -q -t copyup:test "$ctx" >/dev/null
  for cli in $DOCKER_CLIS; do
    local vol="copyup-${cli//\//-}"
    dkc "$cli" run --rm --network none -v "$vol:/srv/app" copyup:test true
    run dkc "$cli" run --rm --network none -v "$vol:/v" "$IMG" sh -c 'cat /v/a /v/sub/b; readlink /v/link; stat -c "%u:%g %a" /v /v/a /v/sub/b'
    assert_success
    assert_eq "$output" "$(printf 'hello\ndeep\na\n1000:1001 750\n1000:1001 600\n1000:1001 644')" "$cli: the copy"
    dk volume rm "$vol" >/dev/null
  done
  # A volume with files of its own is left as it is.
  dk run --rm --network none -v copyup-used:/v "$IMG" sh -c 'echo mine >/v/only'
  assert_eq "$(dk run --rm --network none -v copyup-used:/srv/app copyup:test ls /srv/app)" only "a used volume"
  # nocopy, in both syntaxes: the volume stays empty.
  assert_eq "$(dk run --rm --network none -v copyup-nocopy:/srv/app:nocopy copyup:test ls -A /srv/app)" "" "-v …:nocopy"
  assert_eq "$(dk run --rm --network none --mount type=volume,source=copyup-mnt-nocopy,target=/srv/app,volume-nocopy copyup:test ls -A /srv/app)" "" "--mount volume-nocopy"
  assert_eq "$(dk run --rm --network none --mount type=volume,source=copyup-mnt,target=/srv/app copyup:test cat /srv/app/sub/b)" deep "--mount"
  # The image's VOLUME gets an anonymous volume owned as the image's directory.
  assert_eq "$(dk run --rm --network none copyup:test stat -c %u:%g /data)" 1000:1001 "the anonymous volume"
  dk volume rm copyup-used copyup-nocopy copyup-mnt-nocopy copyup-mnt >/dev/null
  dk rmi copyup:test >/dev/null
}

@test "stats --no-stream: CPU and the memory limit from the container's cgroup" {
  dk run -d --name spin --network none -m 64m "$IMG" sh -c 'while :; do :; done' >/dev/null
  for cli in $DOCKER_CLIS; do
    run dkc "$cli" stats --no-stream --format '{{.Name}} {{.MemUsage}} {{.PIDs}}' spin
    assert_success
    assert_output_matches "^spin [0-9.]+[KMG]i?B / 64MiB 1$"
  done
  run dk stats --no-stream --format '{{.CPUPerc}}' spin
  local cpu="${output%%.*}"
  [ "$cpu" -ge 20 ] || fail "a spinning container at $output CPU"
  dk rm -f spin >/dev/null
}

@test "stdin with -i, a terminal with -t" {
  for cli in $DOCKER_CLIS; do
    run bash -c "printf 'one\ntwo\n' | DOCKER_HOST=unix://$ENGINE_SOCK $cli run --rm -i --network none $IMG sh -c 'wc -l; echo done'"
    assert_success
    assert_output_contains "2"
    assert_output_contains "done"
    run script -eqc "DOCKER_HOST=unix://$ENGINE_SOCK $cli run --rm -it --network none $IMG sh -c 'tty; exit 5'" /dev/null </dev/null
    assert_status 5
    assert_output_contains "/dev/pts/0"
  done
}

@test "exec: output and exit codes, stdin, a terminal, environment, detached" {
  dk run -d --name ex --network none "$IMG" sleep 300 >/dev/null
  for cli in $DOCKER_CLIS; do
    run dkc "$cli" exec ex sh -c 'echo in-exec; echo to-err >&2; exit 4'
    assert_status 4
    assert_output_contains "in-exec"
    assert_output_contains "to-err"
    run bash -c "echo piped | DOCKER_HOST=unix://$ENGINE_SOCK $cli exec -i ex sh -c 'cat; echo \$\$'"
    assert_success
    assert_output_contains "piped"
    run script -eqc "DOCKER_HOST=unix://$ENGINE_SOCK $cli exec -it ex sh -c 'tty; exit 6'" /dev/null </dev/null
    assert_status 6
    assert_output_contains "/dev/pts/"
    run dkc "$cli" exec -e FOO=bar -w /tmp ex sh -c 'echo $FOO $(pwd)'
    assert_eq "$output" "bar /tmp"
  done
  run dk exec -d ex sh -c 'touch /tmp/detached'
  assert_success
  wait_for_value 10 "detached exec's file" yes bash -c \
    "DOCKER_HOST=unix://$ENGINE_SOCK ${DOCKER_CLIS%% *} exec ex sh -c 'test -f /tmp/detached && echo yes'"
  run dk exec nothere true
  assert_failure
  assert_output_contains "No such container: nothere"
  dk rm -f ex >/dev/null
}

@test "docker cp: files and trees both ways, owners, symlinks kept or followed, a stopped container, paths that cannot leave the container" {
  dk run -d --name cp --network none "$IMG" sleep 300 >/dev/null
  local w="$BATS_TEST_TMPDIR"
  echo host-secret >"$w/secret"
  dk exec cp sh -c "mkdir -p /data/sub && echo inner >/data/sub/f && ln -s /etc/hostname /data/link && ln -s $w/secret /data/to-host && ln -s $w /data/host-dir"
  local hostname
  hostname="$(dk exec cp cat /etc/hostname)"
  local n=0
  for cli in $DOCKER_CLIS; do
    [ "$cli" != "$LIMAN_CLI" ] || continue  # the liman CLI has no cp
    n=$((n + 1))
    local d="$w/client-$n"
    mkdir -p "$d"
    # Out: a tree, a symlink as itself, a symlink followed (-L), a file as a tar on stdout.
    run dkc "$cli" cp cp:/data "$d/data"
    assert_success
    assert_eq "$(cat "$d/data/sub/f")" "inner"
    assert_eq "$(readlink "$d/data/link")" "/etc/hostname"
    run dkc "$cli" cp -L cp:/data/link "$d/followed"
    assert_success
    assert_eq "$(cat "$d/followed")" "$hostname"
    run bash -c "DOCKER_HOST=unix://$ENGINE_SOCK $cli cp cp:/data/sub/f - | tar -tvf -"
    assert_success
    assert_output_contains " f"
    # In: owned by the container's root, unless -a keeps the owner; a tree into a directory.
    echo payload >"$d/in"
    chown 4321:4321 "$d/in"
    run dkc "$cli" cp "$d/in" cp:/tmp/in
    assert_success
    assert_eq "$(dk exec cp stat -c '%u:%g %s' /tmp/in)" "0:0 8"
    run dkc "$cli" cp -a "$d/in" cp:/tmp/in-a
    assert_success
    assert_eq "$(dk exec cp stat -c '%u:%g' /tmp/in-a)" "4321:4321"
    run dkc "$cli" cp "$d/data" cp:/tmp/
    assert_success
    assert_eq "$(dk exec cp cat /tmp/data/sub/f)" "inner"
    # Docker's errors.
    run dkc "$cli" cp cp:/nothere "$d/"
    assert_failure
    assert_output_contains "/nothere"
    run dkc "$cli" cp "$d/in" cp:/no/such/dir/
    assert_failure
  done
  # noOverwriteDirNonDir: a directory does not replace a file; moby answers a plain 500.
  mkdir -p "$w/tarsrc/in"
  tar -C "$w/tarsrc" -cf "$w/dir.tar" in
  run curl -sS -o "$w/answer" -w '%{http_code}' -T "$w/dir.tar" --unix-socket "$ENGINE_SOCK" \
    "http://d/containers/cp/archive?path=/tmp&noOverwriteDirNonDir=true"
  assert_eq "$output" "500"
  run cat "$w/answer"
  assert_output_contains 'cannot overwrite non-directory \"in\" with directory'
  assert_eq "$(dk exec cp cat /tmp/in)" "payload"
  # Symlinks resolve inside the container's root: one naming a host path leads nowhere, in or out.
  run dk cp -L cp:/data/to-host "$w/leaked"
  assert_failure
  assert_output_contains "$w/secret"
  [ ! -e "$w/leaked" ]
  run dk cp "$w/secret" cp:/data/host-dir/
  assert_failure
  [ ! -e "$w/host-dir" ] && [ "$(ls "$w" | grep -c secret)" = 1 ]
  # A stopped container: its snapshot is read and written, and the next start sees the file.
  dk stop -t 0 cp >/dev/null
  run dk cp cp:/tmp/in "$w/from-stopped"
  assert_success
  assert_eq "$(cat "$w/from-stopped")" "payload"
  echo later >"$w/later"
  run dk cp "$w/later" cp:/tmp/
  assert_success
  dk start cp >/dev/null
  assert_eq "$(dk exec cp cat /tmp/later)" "later"
  # A stopped container's volumes are there too; a read-only root takes copies only into them.
  dk volume create cp-vol >/dev/null
  dk create --name cp-ro --read-only -v cp-vol:/vol --network none "$IMG" sleep 300 >/dev/null
  run dk cp "$w/later" cp-ro:/vol/
  assert_success
  run dk cp "$w/later" cp-ro:/tmp/
  assert_failure
  assert_output_contains "container rootfs is marked read-only"
  # Refused before its body is read, a big upload still gets the answer, not a broken pipe
  # (stopped, the refusal comes before the first byte is read).
  head -c 8000000 /dev/urandom >"$w/big"
  for cli in $DOCKER_CLIS; do
    [ "$cli" != "$LIMAN_CLI" ] || continue
    for state in stopped running; do
      [ "$state" = stopped ] || dk start cp-ro >/dev/null
      run dkc "$cli" cp "$w/big" cp-ro:/
      assert_failure
      assert_output_contains "container rootfs is marked read-only"
      [ "$state" = running ] || continue
      dk kill cp-ro >/dev/null
      dk wait cp-ro >/dev/null
    done
  done
  dk start cp-ro >/dev/null
  assert_eq "$(dk exec cp-ro cat /vol/later)" "later"
  echo running >"$w/run-in"
  run dk cp "$w/run-in" cp-ro:/vol/
  assert_success
  assert_eq "$(dk exec cp-ro cat /vol/run-in)" "running"
  run dk cp "$w/run-in" cp-ro:/
  assert_failure
  assert_output_contains "container rootfs is marked read-only"
  dk rm -f cp-ro >/dev/null
  dk volume rm cp-vol >/dev/null
  # The API: HEAD's stat header, and a request without a path.
  run bash -c "curl -sI --unix-socket $ENGINE_SOCK 'http://d/containers/cp/archive?path=/data/sub/f' | tr -d '\r' | sed -n 's/^X-Docker-Container-Path-Stat: //ip' | base64 -d"
  assert_success
  assert_eq "$(jq -r '"\(.name) \(.size) \(.mode)"' <<<"$output")" "f 6 420"
  run api GET "/containers/cp/archive"
  assert_eq "$output" '400 {"message":"bad parameter: path cannot be empty"}'
  dk rm -f cp >/dev/null
}

@test "docker events: a container's life with its execs, volume events, filters, since and until, through both clients" {
  local since until
  since="$(date +%s.%N)"  # earlier tests' events of this second are not ours
  dk run -d --name ev --label tier=front --network none "$IMG" sleep 300 >/dev/null
  dk exec ev true
  dk stop -t 1 ev >/dev/null
  dk rm ev >/dev/null
  run dk run --name exit3 --network none "$IMG" sh -c 'exit 3'
  assert_status 3
  dk rm exit3 >/dev/null
  dk volume create ev-vol >/dev/null
  dk volume rm ev-vol >/dev/null
  until="$(($(date +%s) + 1))"
  for cli in $DOCKER_CLIS; do
    [ "$cli" != "$LIMAN_CLI" ] || continue  # the liman CLI has no events
    run dkc "$cli" events --since "$since" --until "$until" --filter container=ev --format '{{.Type}} {{.Action}}'
    assert_success
    # sleep as pid 1 ignores SIGTERM: the stop's second kill is SIGKILL.
    assert_eq "$output" "container create
container start
container exec_create: true
container exec_start: true
container exec_die
container kill
container kill
container die
container stop
container destroy"
    run dkc "$cli" events --since "$since" --until "$until" --filter event=die --filter label=tier=front \
      --format '{{.Actor.Attributes.name}} {{.Actor.Attributes.exitCode}}'
    assert_eq "$output" "ev 137"
    run dkc "$cli" events --since "$since" --until "$until" --filter container=exit3 --filter event=die \
      --format '{{.Actor.Attributes.exitCode}} {{.Actor.Attributes.image}}'
    assert_eq "$output" "3 $IMG"
    run dkc "$cli" events --since "$since" --until "$until" --filter type=volume --format '{{.Action}} {{.Actor.ID}}'
    assert_eq "$output" "create ev-vol
destroy ev-vol"
  done
  # Followed live: an event published while the stream is open arrives on it.
  local events="$BATS_TEST_TMPDIR/live"
  DOCKER_HOST="unix://$ENGINE_SOCK" timeout 30 "${DOCKER_CLIS%% *}" events --filter type=volume \
    --format '{{.Action}} {{.Actor.ID}}' >"$events" &
  local follower=$!
  sleep 0.5
  dk volume create ev-live >/dev/null
  wait_for_value 10 "the live event" "create ev-live" cat "$events"
  kill "$follower"
  wait "$follower" || true
  dk volume rm ev-live >/dev/null
  run api GET "/events?since=yesterday"
  assert_eq "$output" "400 {\"message\":\"invalid value for since: \\\"yesterday\\\"\"}"
  # moby's timestamps: negative seconds, and digits past the ninth of a fraction dropped.
  run api GET "/events?since=-1&until=1.1234567890&filters=%7B%22type%22%3A%5B%22container%22%5D%7D"
  assert_eq "$output" "200 "
}

@test "--add-host, --dns, --dns-search, --dns-option, --shm-size and --sysctl reach the container" {
  for cli in $DOCKER_CLIS; do
    run dkc "$cli" run --rm --add-host db.test:10.9.8.7 --add-host gw.test:host-gateway \
      --dns 192.0.2.53 --dns-search a.test --dns-option ndots:2 --shm-size 8m \
      --sysctl net.ipv4.ip_unprivileged_port_start=1000 "$IMG" \
      sh -c 'cat /etc/resolv.conf; grep test /etc/hosts; df -k /dev/shm | tail -1; cat /proc/sys/net/ipv4/ip_unprivileged_port_start'
    assert_success
    assert_output_matches "^nameserver 192.0.2.53$"
    assert_output_matches "^search a.test$"
    assert_output_matches "^options ndots:2$"
    assert_output_matches "^10.9.8.7[[:space:]]+db.test$"
    assert_output_matches "^$ENGINE_SUBNET.1[[:space:]]+gw.test$"
    assert_output_matches "^shm +8192 "
    assert_output_matches "^1000$"
    # Only the flags' servers: none of the host's.
    [ "$(grep -c '^nameserver' <<<"$output")" = 1 ] || fail "more than one nameserver: $output"
  done
  # With the host's namespaces a sysctl would be the host's: refused. (The value asked for is the
  # host's own, so that a runtime without the check would change nothing.)
  run dk run --rm --sysctl "kernel.domainname=$(cat /proc/sys/kernel/domainname)" --network host "$IMG" true
  assert_failure
  assert_output_contains "kernel.domainname"
}

@test "hostname, hosts and resolv.conf are written at every start; a bad --add-host fails the create" {
  dk create --name etcfiles --network none --add-host db.test:10.9.8.7 --dns 192.0.2.53 "$IMG" \
    sh -c 'cat /etc/hostname; grep db.test /etc/hosts; grep nameserver /etc/resolv.conf' >/dev/null
  dk start -a etcfiles >/dev/null
  local path
  for path in HostnamePath HostsPath ResolvConfPath; do
    rm "$(dk inspect -f "{{.$path}}" etcfiles)"
  done
  run dk start -a etcfiles
  assert_success
  assert_output_matches "^$(dk inspect -f '{{.Config.Hostname}}' etcfiles)$"
  assert_output_matches "^10.9.8.7[[:space:]]+db.test$"
  assert_output_matches "^nameserver 192.0.2.53$"
  dk rm etcfiles >/dev/null
  run dk create --add-host db.test:10.9.8 "$IMG" true
  assert_failure
  assert_output_contains 'invalid IP address in add-host: "10.9.8"'
}

@test "--user: names from the image's /etc/passwd and /etc/group, numbers, --group-add, HOME; unknown names refused" {
  for cli in $DOCKER_CLIS; do
    run dkc "$cli" run --rm --network none -u nobody "$IMG" sh -c 'echo $(id -u) $(id -g) $HOME'
    assert_success
    assert_eq "$output" "65534 65534 /"
    run dkc "$cli" run --rm --network none -u 4242:root --group-add 77 "$IMG" sh -c 'echo $(id -u) $(id -G) $HOME'
    assert_success
    assert_eq "$output" "4242 0 77 /"
    run dkc "$cli" run --rm --network none "$IMG" sh -c 'echo $(id -u) $HOME'
    assert_eq "$output" "0 /root"
    run dkc "$cli" run --rm --network none -u nosuch "$IMG" true
    assert_failure
    assert_output_contains "unable to find user nosuch: no matching entries in passwd file"
  done
  dk run -d --name ux --network none "$IMG" sleep 300 >/dev/null
  run dk exec -u nobody ux sh -c 'echo $(id -u) $HOME'
  assert_eq "$output" "65534 /"
  run dk exec ux sh -c 'echo $(id -u) $HOME'
  assert_eq "$output" "0 /root"
  run dk exec -u nosuch ux true
  assert_failure
  assert_output_contains "unable to find user nosuch"
  dk rm -f ux >/dev/null
  run grep -c " $ENGINE_DIR/exec/mounts/" /proc/self/mountinfo
  assert_eq "$output" "0"
}

@test "Docker's errors: name conflicts, unknown containers, bad JSON, running containers" {
  dk run -d --name busy --network none "$IMG" sleep 100 >/dev/null
  run dk run -d --name busy --network none "$IMG" true
  assert_failure
  assert_output_contains 'The container name "/busy" is already in use'
  run dk rm busy
  assert_failure
  assert_output_contains "You cannot remove a running container"
  run dk rm -f busy
  assert_success
  run dk start nothing-here
  assert_failure
  assert_output_contains "No such container: nothing-here"
  run api POST /v1.41/containers/create '{"Image": 5}'
  assert_output_contains "400 "
  run api POST /v1.41/containers/create "{\"Image\":\"$IMG\",\"HostConfig\":{\"NetworkMode\":5,\"Binds\":7}}"
  assert_output_contains '400 {"message":"invalid request:'
  run api POST /v1.41/containers/create '{not json'
  assert_output_contains '400 {"message":"invalid JSON'
  run api POST '/v1.41/containers/create?name=../../etc' "{\"Image\":\"$IMG\"}"
  assert_output_contains '400 {"message":"Invalid container name (../../etc)'
  run api GET /v1.99/version
  assert_output_contains "client version 1.99 is too new"
  run api GET /v1.41/nope
  assert_output_contains '404 {"message":"page not found"}'
  run api POST /v1.41/containers/create '{"Image":"busybox:nope","HostConfig":{"NetworkMode":"none"}}'
  assert_output_contains '404 {"message":"No such image: busybox:nope"}'
}

@test "seccomp: Docker's default profile (lifted by --privileged and seccomp=unconfined), capability-gated rules, a profile of one's own; masked paths, systempaths=unconfined, apparmor=unconfined" {
  run dk run --rm --network none "$IMG" grep Seccomp: /proc/self/status
  assert_output_matches "Seccomp:\s+2"
  run dk run --rm --network none --privileged "$IMG" grep Seccomp: /proc/self/status
  assert_output_matches "Seccomp:\s+0"
  run dk run --rm --network none --security-opt seccomp=unconfined "$IMG" grep Seccomp: /proc/self/status
  assert_output_matches "Seccomp:\s+0"
  # unshare(2) needs CAP_SYS_ADMIN; the profile allows it only to a container that has it
  run dk run --rm --network none "$IMG" unshare -u true
  assert_failure
  assert_output_contains "Operation not permitted"
  run dk run --rm --network none --cap-add SYS_ADMIN "$IMG" unshare -u sh -c 'hostname inner; hostname'
  assert_success
  assert_eq "$output" "inner"
  echo '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}' \
    >"$DROPIN_TMP/no-mkdir.json"
  for cli in $DOCKER_CLIS; do
    run dkc "$cli" run --rm --network none --security-opt "seccomp=$DROPIN_TMP/no-mkdir.json" "$IMG" sh -c 'touch /tmp/f && mkdir /tmp/d'
    assert_failure
    assert_output_contains "Operation not permitted"
    # Docker's masked paths (/proc/keys is /dev/null's device), gone with systempaths=unconfined;
    # apparmor=unconfined is taken (this host has no AppArmor: no profile either way).
    assert_eq "$(dkc "$cli" run --rm --network none --security-opt apparmor=unconfined "$IMG" stat -c %F /proc/keys)" \
      "character special file" "$cli: a masked path"
    assert_eq "$(dkc "$cli" run --rm --network none --security-opt systempaths=unconfined "$IMG" stat -c %F /proc/keys)" \
      "regular empty file" "$cli: systempaths=unconfined"
  done
}

@test "the liman CLI: docker's commands, tables and exit codes against limand" {
  run lm version
  assert_success
  assert_output_contains "API version:       1.41"
  assert_output_contains "Server:"
  run lm info
  assert_output_contains "Live Restore Enabled: true"
  assert_output_contains "Logging Driver: json-file"

  run lm pull "$REGISTRY/liman/hello:1"
  assert_success
  assert_output_contains "1: Pulling from liman/hello"
  assert_output_contains "Pull complete"
  assert_output_contains "Status: Downloaded newer image for $REGISTRY/liman/hello:1"
  assert_eq "$(tail -n 1 <<<"$output")" "$REGISTRY/liman/hello:1"
  run lm pull "$REGISTRY/liman/nothere:1"
  assert_failure
  assert_output_contains "manifest unknown"
  run lm tag "$REGISTRY/liman/hello:1" lm/hello:v3
  assert_success
  run lm images
  assert_output_matches "^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$"
  assert_output_matches "lm/hello +v3 +[0-9a-f]{12} "
  run lm rmi lm/hello:v3
  assert_eq "$output" "Untagged: lm/hello:v3"
  run lm rmi "$REGISTRY/liman/hello:1"
  assert_output_contains "Deleted: sha256:"

  # run: exit codes, -e, --name, stdout and stderr apart; 125 for its own failures, 127 for a
  # missing command
  run lm run --rm --network none -e GREETING=hi --name lmrun "$IMG" sh -c 'echo "out $GREETING $(hostname)"; exit 3'
  assert_status 3
  assert_output_contains "out hi"
  [ "$(lm run --rm --network none "$IMG" sh -c 'echo err >&2' 2>/dev/null)" = "" ] || fail "stderr came out on stdout"
  run -127 lm run --rm --network none "$IMG" nosuchcmd
  assert_output_contains "executable file not found"
  run -125 lm run --rm --network none "$REGISTRY/liman/nothere:1" true
  assert_output_contains "Unable to find image"
  run -125 lm run --no-such-flag "$IMG"
  run -125 lm run --rm --network none -p 99999:80 "$IMG" true
  assert_output_contains 'invalid argument "99999:80" for "-p, --publish" flag'

  # a published port, ps's table, port, logs -f to the end, exec -it, inspect, top, stats
  local port=$((RANDOM % 1000 + 19000))
  lm run -d --name lmweb -p "127.0.0.1:$port:80" "$IMG" sh -c \
    'echo hello-liman >/tmp/index.html; httpd -p 80 -h /tmp; for i in 1 2 3; do echo tick $i; sleep 0.2; done; sleep 300' >/dev/null
  wait_for_value 10 "the published port" hello-liman curl -s "http://127.0.0.1:$port/index.html"
  run lm ps
  assert_output_matches "^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES$"
  assert_output_matches "^[0-9a-f]{12} +.*Up .* +127.0.0.1:$port->80/tcp +lmweb$"
  run lm port lmweb
  assert_eq "$output" "80/tcp -> 127.0.0.1:$port"
  run lm inspect -f '{{.State.Running}} {{.Name}} {{json .Config.Cmd}}' lmweb
  assert_output_contains 'true /lmweb ["sh","-c",'
  # Go templates: liman renders them as the docker CLI does, from the same answer.
  local tmpl
  for tmpl in '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}};{{end}}' \
      '{{if .State.Running}}up{{else}}down{{end}} {{len .Config.Cmd}} {{index .Config.Cmd 0 | printf "%q"}}' \
      '{{with .HostConfig}}{{.NetworkMode}}{{end}}:{{range .Config.Env}}{{if eq (index (split . "=") 0) "PATH"}}{{.}}{{end}}{{end}}' \
      '{{- range $p, $b := .NetworkSettings.Ports -}} {{$p}}>{{(index $b 0).HostPort}} {{- end}}'; do
    assert_eq "$(lm inspect -f "$tmpl" lmweb)" "$(dk inspect -f "$tmpl" lmweb)"
  done
  assert_eq "$(lm inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' lmweb)" \
    "$(lm inspect lmweb | jq -r '.[0].NetworkSettings.Networks[].IPAddress')"
  [ "$(lm inspect lmweb | jq -r '.[0].State.Pid')" -gt 1 ] || fail "no host pid in inspect"
  run lm top lmweb
  assert_output_matches "^UID +PID +PPID +C +STIME +TTY +TIME +CMD"
  assert_output_contains "httpd -p 80 -h /tmp"
  run lm stats --no-stream lmweb
  assert_output_matches "^CONTAINER ID +NAME +CPU % +MEM USAGE / LIMIT +MEM % +NET I/O +BLOCK I/O +PIDS$"
  assert_output_matches " lmweb +[0-9.]+% "
  wait_for_value 10 "the third tick" "tick 3" bash -c "LIMAN_HOST=unix://$ENGINE_SOCK $LIMAN_CLI logs --tail 1 lmweb"
  run script -eqc "LIMAN_HOST=unix://$ENGINE_SOCK $LIMAN_CLI exec -it lmweb sh -c 'tty; exit 6'" /dev/null </dev/null
  assert_status 6
  assert_output_contains "/dev/pts/"
  run lm exec lmweb sh -c 'exit 4'
  assert_status 4
  run lm exec nothere true
  assert_status 1
  assert_output_contains "No such container: nothere"

  # stop, restart, kill, rm; logs -f ends with the container
  run lm stop -t 1 lmweb
  assert_eq "$output" "lmweb"
  run lm ps -a --filter status=exited --format '{{.Names}} {{.Status}}'
  assert_output_contains "lmweb Exited (137)"
  run lm restart lmweb
  assert_success
  assert_eq "$(lm inspect -f '{{.State.Running}}' lmweb)" "true"
  run lm kill lmweb
  assert_eq "$output" "lmweb"
  lm run -d --name lmshort --network none "$IMG" sh -c 'for i in 1 2 3; do echo short $i; sleep 0.3; done' >/dev/null
  run lm logs -f lmshort
  assert_output_contains "short 3"
  run lm rm lmweb lmshort nothere
  assert_status 1
  assert_output_contains "No such container: nothere"
  run lm ps -aq
  assert_eq "$output" ""

  # volumes
  run lm volume create lmvol
  assert_eq "$output" "lmvol"
  run lm volume ls
  assert_output_matches "^DRIVER +VOLUME NAME$"
  assert_output_matches "^local +lmvol$"
  lm run --rm --network none -v lmvol:/data "$IMG" sh -c 'echo kept >/data/f'
  run lm run --rm --network none --mount type=volume,source=lmvol,target=/data,readonly "$IMG" sh -c 'cat /data/f; touch /data/g'
  assert_failure
  assert_output_contains "kept"
  assert_output_contains "Read-only file system"
  run lm volume rm lmvol
  assert_eq "$output" "lmvol"
}

@test "restart policies: on-failure:N, always with backoff, stop and kill end it, an outside kill does not, limand's restart brings back always but not unless-stopped" {
  # Bad policies get the daemon's words (both CLIs pass the name through); --rm conflicts.
  run dk run -d --restart sometimes --network none "$IMG" true
  assert_failure
  assert_output_contains "invalid restart policy: unknown policy 'sometimes'"
  run lm run -d --restart always:3 --network none "$IMG" true
  assert_failure
  assert_output_contains "maximum retry count can only be used with 'on-failure'"
  run lm run --rm --restart always --network none "$IMG" true
  assert_failure
  assert_output_contains "Conflicting options: --restart and --rm"
  run api POST /v1.41/containers/create "{\"Image\":\"$IMG\",\"HostConfig\":{\"AutoRemove\":true,\"RestartPolicy\":{\"Name\":\"always\"}}}"
  assert_output_contains "400 "
  assert_output_contains "cannot use auto-remove and restart policy"

  # on-failure:2: the first run and two restarts, then it stays exited.
  dk run -d --name onfail --restart on-failure:2 --network none "$IMG" sh -c 'echo try; exit 3' >/dev/null
  wait_for_value 20 "onfail after its retries" "exited 3 2" dk inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}' onfail
  run dk logs onfail
  assert_eq "$(grep -c try <<<"$output")" "3"
  # on-failure does not restart a clean exit.
  dk run -d --name onfail0 --restart on-failure --network none "$IMG" true >/dev/null
  wait_for_value 20 "onfail0" "exited 0 0" dk inspect -f '{{.State.Status}} {{.State.ExitCode}} {{.RestartCount}}' onfail0

  # always: clean exits restart too; docker ps lists it without -a while it comes and goes.
  dk run -d --name always --restart always --network none "$IMG" sh -c 'echo up; sleep 0.2' >/dev/null
  wait_for_value 20 "always restarted at least 3 times" "yes" bash -c \
    "[ \$(DOCKER_HOST=unix://$ENGINE_SOCK ${DOCKER_CLIS%% *} inspect -f '{{.RestartCount}}' always) -ge 3 ] && echo yes"
  run dk ps --format '{{.Names}}'
  assert_output_contains always
  # docker stop ends it for good: no restart follows.
  run dk stop always
  assert_success
  assert_eq "$(state always Status)" "exited"
  local count
  count="$(dk inspect -f '{{.RestartCount}}' always)"
  sleep 1.5
  assert_eq "$(state always Status) $(dk inspect -f '{{.RestartCount}}' always)" "exited $count"
  # docker start begins the count again.
  dk start always >/dev/null
  assert_eq "$(dk inspect -f '{{.RestartCount}}' always)" "0"

  # unless-stopped: a kill from outside the engine is a crash, and it comes back with a new pid.
  dk run -d --name unless --restart unless-stopped --network none "$IMG" sleep 1000 >/dev/null
  local pid
  pid="$(state unless Pid)"
  kill -9 "$pid"
  wait_for_value 20 "unless after an outside kill" "running 1" dk inspect -f '{{.State.Status}} {{.RestartCount}}' unless
  [ "$(state unless Pid)" != "$pid" ] || fail "the restarted container kept pid $pid"
  # docker kill is a manual stop: no restart.
  run dk kill unless
  assert_success
  sleep 1
  assert_eq "$(state unless Status) $(state unless ExitCode)" "exited 137"
  dk stop always >/dev/null

  # A new limand starts the always container stopped by hand, not the unless-stopped one
  # (nor on-failure's, whose retries are used up).
  stop_daemon limand
  start_limand
  wait_for_value 20 "always after limand's restart" "running" state always Status
  assert_eq "$(state unless Status)" "exited"
  assert_eq "$(state onfail Status)" "exited"
  dk rm -f onfail onfail0 always unless >/dev/null
}

# pid_cg_read PID CONTROLLER V1FILE V2FILE: a file of the cgroup PID is in.
pid_cg_read() {
  local path
  if cgroup_v2_only; then
    path="$(sed -n 's/^0:://p' "/proc/$1/cgroup")"
  else
    path="$(awk -F: -v c="$2" '{ n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3 }' "/proc/$1/cgroup")"
  fi
  cg_read "$2" "$3" "$4" "$path"
}

@test "docker update: memory, pids and CPU limits reach the running container's cgroup and its next start; the restart policy changes" {
  dk run -d --name upd --network none -m 64m "$IMG" sleep 1000 >/dev/null
  local pid
  pid="$(state upd Pid)"
  assert_eq "$(pid_cg_read "$pid" memory memory.limit_in_bytes memory.max)" "$((64 << 20))"
  run dk update --memory 96m --memory-swap 192m --pids-limit 42 --cpus 0.5 upd
  assert_success
  assert_eq "$(pid_cg_read "$pid" memory memory.limit_in_bytes memory.max)" "$((96 << 20))"
  assert_eq "$(pid_cg_read "$pid" pids pids.max pids.max)" "42"
  if cgroup_v2_only; then
    assert_eq "$(pid_cg_read "$pid" cpu cpu.cfs_quota_us cpu.max)" "50000 100000"
  else
    assert_eq "$(pid_cg_read "$pid" cpu cpu.cfs_quota_us cpu.max)" "50000"
  fi
  run dk inspect -f '{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.PidsLimit}} {{.HostConfig.NanoCpus}}' upd
  assert_eq "$output" "$((96 << 20)) $((192 << 20)) 42 500000000"
  # The next start has them too.
  dk stop -t 0 upd >/dev/null
  dk start upd >/dev/null
  pid="$(state upd Pid)"
  assert_eq "$(pid_cg_read "$pid" memory memory.limit_in_bytes memory.max)" "$((96 << 20))"
  assert_eq "$(pid_cg_read "$pid" pids pids.max pids.max)" "42"
  # The liman CLI: --restart, and the errors of docker and moby.
  run lm update --restart on-failure:3 upd
  assert_success
  assert_eq "$(dk inspect -f '{{.HostConfig.RestartPolicy.Name}} {{.HostConfig.RestartPolicy.MaximumRetryCount}}' upd)" "on-failure 3"
  run lm update upd
  assert_failure
  assert_output_contains "you must provide one or more flags when using this command"
  run dk update --memory 1m upd
  assert_failure
  assert_output_contains "Minimum memory limit allowed is 6MB"
  run dk update --memory 1g upd
  assert_failure
  assert_output_contains "Memory limit should be smaller than already set memoryswap limit"
  run dk update --pids-limit 5 nosuchcontainer
  assert_failure
  assert_output_contains "No such container: nosuchcontainer"
  dk rm -f upd >/dev/null
}

@test "rename, container, volume and image prune: Docker's answers through both clients" {
  dk run -d --name before --network none "$IMG" sleep 300 >/dev/null
  run dk rename before after
  assert_success
  assert_eq "$(dk inspect -f '{{.Name}}' after)" "/after"
  run dk inspect before
  assert_failure
  dk create --name other --network none "$IMG" true >/dev/null
  run dk rename after other
  assert_failure
  assert_output_contains 'The container name "/other" is already in use'
  run lm rename after after
  assert_failure
  assert_output_contains "Renaming a container with the same name as its current name"
  run lm rename after 'bad/name'
  assert_failure
  assert_output_contains "Invalid container name (bad/name)"

  # container prune: stopped containers go (the label filter first), running ones stay.
  dk run --name done1 --network none --label keep=no "$IMG" sh -c 'head -c 100000 /dev/zero >/f' >/dev/null
  dk run --name done2 --network none --label keep=yes "$IMG" true >/dev/null
  local done1 done2 other
  done1="$(dk inspect -f '{{.Id}}' done1)"
  done2="$(dk inspect -f '{{.Id}}' done2)"
  other="$(dk inspect -f '{{.Id}}' other)"
  run dk container prune -f --filter label=keep=no
  assert_success
  assert_output_contains "Deleted Containers:"
  assert_output_contains "$done1"
  assert_output_matches "Total reclaimed space: [0-9.]+kB"
  run dk inspect done2
  assert_success
  run lm container prune -f
  assert_success
  assert_output_contains "Deleted Containers:"
  assert_output_contains "$done2"
  assert_output_contains "$other"
  run dk ps -a --format '{{.Names}}'
  assert_eq "$output" "after"

  # volume prune: unused volumes go with the space their files held; one in use stays.
  dk volume create used >/dev/null
  dk run --rm --network none -v unused:/data "$IMG" sh -c 'head -c 100000 /dev/zero >/data/blob'
  dk run -d --name vuser --network none -v used:/data "$IMG" sleep 300 >/dev/null
  run dk volume prune -f
  assert_success
  assert_output_contains "Deleted Volumes:"
  assert_output_contains "unused"
  ! grep -qx used <<<"$output" || fail "volume prune removed a volume in use"
  # The blob's 100000 bytes (102.4 kB allocated) and each pruned volume's two directories
  # (4 kB each): as du counts, where Docker adds the files' apparent sizes.
  assert_output_matches "Total reclaimed space: 1[0-4][0-9.]*kB"
  run lm volume ls -q
  assert_eq "$output" "used"

  # image prune: an image left with no tag (pulled by digest, then its tag removed) is dangling
  # and goes; -a takes every image that no container uses; the busybox of `after` stays.
  local hello="$REGISTRY/liman/hello:1" hello_digest hello_id
  dk pull -q "$hello" >/dev/null
  hello_digest="$(dk inspect -f '{{index .RepoDigests 0}}' "$hello")"
  hello_id="$(dk inspect -f '{{.Id}}' "$hello")"
  dk pull -q "$hello_digest" >/dev/null
  dk rmi "$hello" >/dev/null
  run dk image prune -f --filter dangling=maybe
  assert_failure
  assert_output_contains "invalid filter 'dangling=maybe'"
  run dk image prune -f
  assert_success
  assert_output_contains "Deleted Images:"
  assert_output_contains "untagged: $hello_digest"
  assert_output_contains "deleted: $hello_id"
  assert_output_matches "Total reclaimed space: [0-9.]+[kM]B"
  run dk image inspect "$hello_id"
  assert_failure
  dk pull -q "$hello" >/dev/null
  run lm image prune -f
  assert_success
  assert_eq "$output" "Total reclaimed space: 0B"
  run lm image prune -a -f
  assert_success
  assert_output_contains "untagged: $hello"
  assert_output_contains "deleted: $hello_id"
  run dk image inspect "$hello"
  assert_failure
  run dk image inspect "$IMG"
  assert_success
  dk rm -f after vuser >/dev/null
  dk volume rm used >/dev/null
}

@test "docker system df: what images, containers and volumes take, and what is in use" {
  dk pull -q "$IMG" >/dev/null
  local id body
  id="$(dk inspect -f '{{.Id}}' "$IMG")"
  dk volume create df-vol >/dev/null
  dk run -d --name df-run --network none -v df-vol:/data "$IMG" \
    sh -c 'head -c 300000 /dev/zero >/data/f && head -c 200000 /dev/zero >/rw && sleep 1000' >/dev/null
  wait_for_value 20 "df-run's files" yes dk exec df-run sh -c 'test -s /rw && echo yes'
  dk run --name df-stopped --network none "$IMG" true
  run api GET /v1.41/system/df
  [ "${output%% *}" = 200 ] || fail "system df: $output"
  body="${output#* }"
  [ "$(jq '.LayersSize' <<<"$body")" -gt 0 ] || fail "LayersSize: $body"
  assert_eq "$(jq --arg id "$id" '.Images[] | select(.Id == $id) | .Containers' <<<"$body")" 2 "containers of the image"
  [ "$(jq '.Containers[] | select(.Names[0] == "/df-run") | .SizeRw' <<<"$body")" -ge 200000 ] ||
    fail "SizeRw of df-run: $body"
  assert_eq "$(jq -c '.Containers[] | select(.Names[0] == "/df-stopped") | .State' <<<"$body")" '"exited"' "df-stopped"
  [ "$(jq '.Volumes[] | select(.Name == "df-vol") | .UsageData.Size' <<<"$body")" -ge 300000 ] ||
    fail "size of df-vol: $body"
  assert_eq "$(jq '.Volumes[] | select(.Name == "df-vol") | .UsageData.RefCount' <<<"$body")" 1 "users of df-vol"
  assert_eq "$(jq -c '.BuildCache' <<<"$body")" "[]" "build cache"
  for cli in $DOCKER_CLIS; do
    run dkc "$cli" system df
    assert_success
    assert_output_contains "Images"
    assert_output_contains "Local Volumes"
    [[ "$(grep '^Containers' <<<"$output")" =~ ^Containers\ +[0-9]+\ +[1-9][0-9]*\ + ]] || fail "$cli: $output"
  done
  # liman prints what docker 20.10 prints.
  assert_eq "$(lm system df)" "$(dkc /usr/bin/docker system df)" "liman system df"
  dk rm -f df-run df-stopped >/dev/null
  dk volume rm df-vol >/dev/null
}

@test "docker save and load: an image goes out as an archive (OCI layout and manifest.json) and comes back under its name; a 70 MiB archive streams in" {
  local archive="$DROPIN_TMP/saved.tar" id
  dk pull -q "$IMG" >/dev/null
  id="$(dk inspect -f '{{.Id}}' "$IMG")"
  run dk save -o "$DROPIN_TMP/none.tar" "$REGISTRY/liman/nothere:1"
  assert_failure
  assert_output_contains "No such image: $REGISTRY/liman/nothere:1"
  dk tag "$IMG" saved/busybox:v1
  run dk save -o "$archive" saved/busybox:v1
  assert_success
  run tar -tf "$archive"
  assert_success
  assert_output_contains "manifest.json"
  assert_output_contains "index.json"
  assert_output_contains "blobs/sha256/${id#sha256:}"
  [ "$(tar -xOf "$archive" manifest.json | jq -r '.[0].RepoTags[0]')" = "saved/busybox:v1" ] ||
    fail "manifest.json does not name saved/busybox:v1"
  dk rmi saved/busybox:v1 >/dev/null
  run dk image inspect saved/busybox:v1
  assert_failure
  run dk load -i "$archive"
  assert_success
  assert_output_contains "Loaded image: saved/busybox:v1"
  assert_eq "$(dk inspect -f '{{.Id}}' saved/busybox:v1)" "$id"
  run dk run --rm --network none saved/busybox:v1 echo loaded
  assert_success
  assert_output_contains "loaded"
  # A damaged archive is refused with the reason, and nothing is recorded.
  head -c 3000 "$archive" >"$DROPIN_TMP/cut.tar"
  dk rmi saved/busybox:v1 >/dev/null
  run dk load -i "$DROPIN_TMP/cut.tar"
  assert_failure
  run dk image inspect saved/busybox:v1
  assert_failure

  # The same through liman: save to a file (no partial file left behind), load it back.
  dk tag "$IMG" saved/busybox:v2
  run lm save -o "$DROPIN_TMP/lm.tar" saved/busybox:v2
  assert_success
  [ "$(tar -xOf "$DROPIN_TMP/lm.tar" manifest.json | jq -r '.[0].RepoTags[0]')" = "saved/busybox:v2" ] ||
    fail "liman's archive does not name saved/busybox:v2"
  run lm save -o "$DROPIN_TMP/lm-none.tar" saved/busybox:nothere
  assert_failure
  assert_output_contains "No such image: saved/busybox:nothere"
  [ -z "$(ls "$DROPIN_TMP" | grep lm-none)" ] || fail "a failed save left a file behind"
  dk rmi saved/busybox:v2 >/dev/null
  run lm load -i "$DROPIN_TMP/lm.tar"
  assert_success
  assert_output_contains "Loaded image: saved/busybox:v2"
  assert_eq "$(dk inspect -f '{{.Id}}' saved/busybox:v2)" "$id"
  dk rmi saved/busybox:v2 >/dev/null

  # An archive larger than limand buffers for a request body (64 MiB) streams through load.
  mkdir -p "$DROPIN_TMP/big-layer"
  head -c $((70 << 20)) /dev/urandom >"$DROPIN_TMP/big-layer/big.bin"
  "$DROPIN_DIR/../lib/make-oci-image" --busybox "$DROPIN_TMP/big-layer" --name saved/big:v1 \
    --docker-archive "$DROPIN_TMP/big.tar" >/dev/null
  rm -rf "$DROPIN_TMP/big-layer"
  [ "$(stat -c %s "$DROPIN_TMP/big.tar")" -gt $((64 << 20)) ] || fail "the big archive is not over 64 MiB"
  run dk load -i "$DROPIN_TMP/big.tar"
  assert_success
  assert_output_contains "Loaded image: saved/big:v1"
  rm -f "$DROPIN_TMP/big.tar"
  run dk run --rm --network none saved/big:v1 wc -c /big.bin
  assert_success
  assert_output_contains "$((70 << 20)) /big.bin"
  dk rmi saved/big:v1 >/dev/null
}

@test "docker commit: a container's changes (added, changed, deleted) as a layer, config changes, running containers, dangling images" {
  dk pull -q "$IMG" >/dev/null
  local since id
  since="$(date +%s)"
  dk run --name commit-src --network none "$IMG" \
    sh -c 'echo hello >/greeting && rm /bin/ls && echo changed:x:1234:1234::/:/bin/sh >>/etc/passwd'
  for cli in $DOCKER_CLIS; do
    [ "$cli" != "$LIMAN_CLI" ] || continue
    run dkc "$cli" commit -m "a comment" -a "Ann <ann@example.com>" --change 'CMD ["cat", "/greeting"]' \
      --change 'ENV COMMITTED=yes' commit-src committed:cli
    assert_success
    [[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "$cli commit printed: $output"
    id="$output"
    assert_eq "$(dkc "$cli" run --rm --network none committed:cli)" "hello" "$cli: the committed CMD"
    run dkc "$cli" run --rm --network none committed:cli \
      sh -c 'echo $COMMITTED; grep -c ^changed: /etc/passwd; test -e /bin/ls || echo gone'
    assert_eq "$output" "$(printf 'yes\n1\ngone')" "$cli: the committed files and env"
    assert_eq "$(dkc "$cli" image inspect -f '{{.Id}} {{.Author}} {{len .RootFS.Layers}}' committed:cli)" \
      "$id Ann <ann@example.com> $(( $(dk image inspect -f '{{len .RootFS.Layers}}' "$IMG") + 1 ))" "$cli: inspect"
    run dkc "$cli" history committed:cli
    assert_output_contains "a comment"
    dkc "$cli" rmi committed:cli >/dev/null
  done
  # docker diff: what the container changed, as Docker lists it (no mount points of its own).
  for cli in $DOCKER_CLIS; do
    run dkc "$cli" diff commit-src
    assert_success
    assert_eq "$output" "$(printf 'C /bin\nD /bin/ls\nC /etc\nC /etc/passwd\nA /greeting')" "$cli diff"
  done
  # The original image is untouched.
  assert_eq "$(dk run --rm --network none "$IMG" sh -c 'test -e /bin/ls && echo kept')" "kept"
  # A running container is paused for the commit and runs on.
  dk run -d --name commit-live --network none "$IMG" sleep 300 >/dev/null
  dk exec commit-live sh -c 'echo live >/live'
  assert_eq "$(dk diff commit-live)" "A /live" "diff of a running container"
  dk commit commit-live committed:live >/dev/null
  assert_eq "$(dk inspect -f '{{.State.Status}} {{.State.Paused}}' commit-live)" "running false"
  assert_eq "$(dk run --rm --network none committed:live cat /live)" "live"
  # Without a name: a dangling image, <none> in the list, named later by tag.
  id="$(dk commit commit-src)"
  run dk images
  [[ "$output" =~ "<none>"\ +"<none>"\ +${id:7:12} ]] || fail "dangling image not listed: $output"
  dk tag "$id" committed:named
  run dk images
  assert_output_not_contains "<none>"
  assert_eq "$(dk run --rm --network none committed:named cat /greeting)" "hello"
  # Errors as Docker's.
  run dk commit no-such-container
  assert_failure
  assert_output_contains "No such container: no-such-container"
  run dk commit --change 'RUN true' commit-src
  assert_failure
  assert_output_contains "RUN is not a valid change command"
  run api POST "/commit?container=commit-src&repo=committed&tag=typed" '{"Env":"not a list"}'
  assert_eq "$output" '400 {"message":"json: cannot unmarshal Env: not a list of strings"}'
  run dk events --since "$since" --until "$(date +%s)" --filter event=commit
  assert_output_contains "container commit"
  dk rm -f commit-src commit-live >/dev/null
  dk rmi committed:live committed:named >/dev/null
}

@test "docker build (legacy builder): ARG, FROM, ENV, WORKDIR, COPY, RUN, LABEL, EXPOSE, CMD through both clients; failures as Docker's" {
  dk pull -q "$IMG" >/dev/null
  local ctx="$DROPIN_TMP/build-ctx" cli n=0 id
  mkdir -p "$ctx/dir/sub"
  echo a >"$ctx/dir/a.txt"
  echo b >"$ctx/dir/sub/b.txt"
  echo top >"$ctx/top.txt"
  echo one >"$ctx/g1.conf"
  echo two >"$ctx/g2.conf"
  # A symlink in the context naming a host file: COPY resolves it inside the context.
  ln -s /etc/hostname "$ctx/hostlink"
  cat >"$ctx/Dockerfile" <<'EOF'
# a comment
ARG BASE
FROM $BASE
ARG GREETING=hello
ENV APP=/app NAME="two words"
WORKDIR $APP
COPY top.txt .
COPY dir /app/dir/
COPY *.conf /conf/
COPY --chown=1000:1000 dir/a.txt /owned/
RUN echo "$GREETING from RUN" && \
    ls -n /owned && echo $NAME >/app/name.txt
LABEL maintainer=me
EXPOSE 8080
CMD ["cat", "/app/name.txt"]
EOF
  for cli in $DOCKER_CLIS; do
    [ "$cli" != "$LIMAN_CLI" ] || continue
    n=$((n + 1))
    run env DOCKER_BUILDKIT=0 DOCKER_HOST="unix://$ENGINE_SOCK" DOCKER_CONFIG="$DROPIN_TMP/docker-config" \
      "$cli" build --build-arg BASE="$IMG" --build-arg GREETING=hi -t "built:$n" -t "built:also$n" --label from=cli "$ctx"
    assert_success
    assert_output_contains "Step 2/13 : FROM \$BASE"
    if [ "$n" = 1 ]; then
      assert_output_contains "hi from RUN"
      assert_output_contains "1000     1000"
    else
      # The same steps from the same images and files: every one from the cache.
      assert_eq "$(grep -c -- '---> Using cache' <<<"$output")" 12 "$cli: steps from the cache (and --label's)"
      assert_output_not_contains "Running in"
    fi
    assert_output_contains "Successfully tagged built:$n"
    assert_eq "$(dkc "$cli" run --rm --network none "built:$n")" "two words" "$cli: CMD of the built image"
    run dkc "$cli" run --rm --network none "built:$n" sh -c \
      'pwd; cat top.txt dir/a.txt dir/sub/b.txt /conf/g1.conf /conf/g2.conf; stat -c %u:%g /owned/a.txt /app/top.txt'
    assert_eq "$output" "$(printf '/app\ntop\na\nb\none\ntwo\n1000:1000\n0:0')" "$cli: the built image's files"
    assert_eq "$(dkc "$cli" image inspect -f '{{.Config.WorkingDir}} {{json .Config.Labels}} {{json .Config.ExposedPorts}}' "built:$n")" \
      '/app {"from":"cli","maintainer":"me"} {"8080/tcp":{}}' "$cli: the built config"
    assert_eq "$(dk image inspect -f '{{.Id}}' "built:also$n")" "$(dk image inspect -f '{{.Id}}' "built:$n")" "both tags"
  done
  # The cache's images are not listed; the intermediate containers are gone.
  run dk images -a
  assert_output_not_contains "liman-build"
  assert_eq "$(dk ps -aq | wc -l)" 0 "containers left by the build"
  # A changed file: the steps before its COPY come from the cache, it and those after run again.
  echo changed >"$ctx/top.txt"
  run dkc /usr/bin/docker build --build-arg BASE="$IMG" --build-arg GREETING=hi -t built:changed "$ctx"
  assert_success
  assert_eq "$(grep -c -- '---> Using cache' <<<"$output")" 3 "steps from the cache before the changed COPY"
  assert_output_contains "hi from RUN"
  assert_eq "$(dk run --rm --network none built:changed cat /app/top.txt)" "changed"
  # --no-cache runs every step; docker builder prune empties the cache.
  run dkc /usr/bin/docker build --no-cache --build-arg BASE="$IMG" --build-arg GREETING=hi -t built:changed "$ctx"
  assert_success
  assert_output_not_contains "Using cache"
  run dkc /usr/bin/docker builder prune -f
  assert_success
  run dkc /usr/bin/docker build --build-arg BASE="$IMG" --build-arg GREETING=hi -t built:changed "$ctx"
  assert_output_not_contains "Using cache"
  dk rmi built:changed >/dev/null
  # A Dockerfile from outside the context (the 20.10 client sends it in the tar without its end).
  printf 'FROM %s\nCOPY hostlink /x\n' "$IMG" >"$DROPIN_TMP/Dockerfile.outside"
  run dkc /usr/bin/docker build -f "$DROPIN_TMP/Dockerfile.outside" "$ctx"
  assert_failure
  assert_output_contains "COPY failed: file not found in build context"
  # A failing RUN: Docker's message, its exit code, its container kept.
  printf 'FROM %s\nRUN echo partial && exit 3\n' "$IMG" >"$DROPIN_TMP/Dockerfile.fails"
  run dkc /usr/bin/docker build -f "$DROPIN_TMP/Dockerfile.fails" "$ctx"
  assert_eq "$status" 3 "exit code of a failed build"
  assert_output_contains "partial"
  assert_output_contains "The command '/bin/sh -c echo partial && exit 3' returned a non-zero code: 3"
  assert_eq "$(dk ps -aq | wc -l)" 1 "the failed step's container"
  dk rm -f $(dk ps -aq) >/dev/null
  # Without a tag, -q prints the ID of a dangling image.
  printf 'FROM %s\nENV X=1\n' "$IMG" >"$DROPIN_TMP/Dockerfile.untagged"
  id="$(dkc /usr/bin/docker build -q -f "$DROPIN_TMP/Dockerfile.untagged" "$ctx")"
  [[ "$id" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "build -q printed: $id"
  run dk images
  [[ "$output" =~ "<none>"\ +"<none>"\ +${id:7:12} ]] || fail "dangling build not listed: $output"
  printf 'RUN true\n' >"$DROPIN_TMP/Dockerfile.nofrom"
  run dkc /usr/bin/docker build -f "$DROPIN_TMP/Dockerfile.nofrom" "$ctx"
  assert_failure
  assert_output_contains "no FROM before it"
  dk rmi "$id" built:1 built:also1 >/dev/null
  [ "$n" -lt 2 ] || dk rmi built:2 built:also2 >/dev/null
}

@test "docker build: stages (FROM … AS, COPY --from, FROM scratch, --target), ADD of a local archive, HEALTHCHECK" {
  dk pull -q "$IMG" >/dev/null
  local ctx="$DROPIN_TMP/stages-ctx"
  mkdir -p "$ctx/tree/inner"
  echo packed >"$ctx/tree/inner/file"
  tar -C "$ctx/tree" -czf "$ctx/tree.tar.gz" --owner=7 --group=8 .
  echo 'not an archive' >"$ctx/plain.gz"
  cat >"$ctx/Dockerfile" <<EOF
FROM $IMG AS builder
RUN mkdir /out && echo made-in-builder >/out/artifact
ADD tree.tar.gz /unpacked/
ADD plain.gz /plain/

FROM scratch AS bare
COPY --from=builder /out/artifact /artifact

FROM $IMG
COPY --from=builder /out/artifact /unpacked /from-builder/
COPY --from=1 /artifact /from-bare
HEALTHCHECK --interval=30s --retries=2 CMD test -e /from-bare
EOF
  run dk build -t staged:final "$ctx"
  assert_success
  run dk run --rm --network none staged:final sh -c 'cat /from-builder/artifact /from-bare /from-builder/inner/file; stat -c %u:%g /from-builder/inner/file'
  assert_eq "$output" "$(printf 'made-in-builder\nmade-in-builder\npacked\n0:0')"
  assert_eq "$(dk image inspect -f '{{json .Config.Healthcheck}}' staged:final)" \
    '{"Test":["CMD-SHELL","test -e /from-bare"],"Interval":30000000000,"Retries":2}'
  # --target ends with the named stage; FROM scratch has only what was copied; archive owners kept.
  run dk build --target builder -t staged:builder "$ctx"
  assert_success
  run dk run --rm --network none staged:builder sh -c 'stat -c %u:%g /unpacked/inner/file; cat /plain/plain.gz'
  assert_eq "$output" "$(printf '7:8\nnot an archive')"
  run dk build --target bare -t staged:bare "$ctx"
  assert_success
  assert_eq "$(dk image inspect -f '{{len .RootFS.Layers}}' staged:bare)" 1 "layers of the scratch stage"
  run dk build --target nosuch "$ctx"
  assert_failure
  assert_output_contains "failed to reach build target nosuch in Dockerfile"
  run dk images -a
  assert_output_not_contains "liman-build"
  dk rmi staged:final staged:builder staged:bare >/dev/null
}

@test "docker export and import: a container's files (not its volumes) out as a tar and back as an image, through both clients" {
  dk pull -q "$IMG" >/dev/null
  local archive="$DROPIN_TMP/exported.tar" cli n=0
  dk run --name export-src --network none -v export-vol:/vol "$IMG" sh -c 'echo hi >/hello && rm /bin/ls && echo v >/vol/v'
  dk run -d --name export-live --network none "$IMG" sh -c 'echo live >/live && sleep 300' >/dev/null
  wait_for_value 20 "export-live's file" live dk exec export-live cat /live
  for cli in $DOCKER_CLIS; do
    [ "$cli" != "$LIMAN_CLI" ] || continue
    n=$((n + 1))
    dkc "$cli" export -o "$archive" export-src
    run tar tf "$archive"
    assert_success
    grep -qx './hello' <<<"$output" || fail "$cli: ./hello not exported"
    ! grep -qx -e './bin/ls' -e './vol/v' <<<"$output" || fail "$cli: a deleted file or a volume's file exported"
    # A running container's files, its own and its image's.
    assert_eq "$(dkc "$cli" export export-live | tar xOf - ./live)" "live" "$cli: export of a running container"
    run dkc "$cli" import -m "from $cli" -c 'CMD ["cat", "/hello"]' -c 'ENV IMPORTED=yes' "$archive" "imported:$n"
    assert_success
    [[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]] || fail "$cli import printed: $output"
    assert_eq "$(dkc "$cli" run --rm --network none "imported:$n")" "hi" "$cli: CMD of the imported image"
    run dkc "$cli" run --rm --network none "imported:$n" sh -c 'echo $IMPORTED; test -e /bin/ls || echo gone'
    assert_eq "$output" "$(printf 'yes\ngone')" "$cli: the imported files"
    assert_eq "$(dkc "$cli" image inspect -f '{{len .RootFS.Layers}}' "imported:$n")" 1 "$cli: one layer"
    run dkc "$cli" history "imported:$n"
    assert_output_contains "from $cli"
  done
  # Compressed from stdin; a body that is no archive is Docker's error, and nothing is left.
  gzip -c "$archive" | dkc /usr/bin/docker import - imported:gz >/dev/null
  assert_eq "$(dk run --rm --network none imported:gz cat /hello)" "hi"
  run bash -c "head -c 10000 /dev/urandom | DOCKER_HOST=unix://$ENGINE_SOCK /usr/bin/docker import - imported:bad"
  assert_failure
  assert_output_contains "Unrecognized archive format"
  run dk image inspect imported:bad
  assert_failure
  run dk export no-such-container
  assert_failure
  assert_output_contains "No such container: no-such-container"
  dk rm -f export-src export-live >/dev/null
  dk volume rm export-vol >/dev/null
  dk rmi imported:gz imported:1 >/dev/null
  [ "$n" -lt 2 ] || dk rmi imported:2 >/dev/null
}

@test "docker push: to the local registry through every client, mounted or uploaded, Docker's progress and digest; pulled back it runs" {
  dk pull -q "$IMG" >/dev/null
  local n=0 cli accept since
  since="$(date +%s.%N)"
  accept='Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'
  for cli in $DOCKER_CLIS; do
    n=$((n + 1))
    dkc "$cli" tag "$IMG" "$REGISTRY/pushed/busybox:v$n"
    run dkc "$cli" push "$REGISTRY/pushed/busybox:v$n"
    assert_success
    assert_output_contains "The push refers to repository [$REGISTRY/pushed/busybox]"
    # The first push mounts the layers from a repository they were pulled from (liman/busybox, or
    # liman/hello of an earlier test, which shares the layer); later ones find them.
    if [ "$n" = 1 ]; then assert_output_contains "Mounted from liman/"; else assert_output_contains "Layer already exists"; fi
    [[ "$output" =~ v$n:\ digest:\ (sha256:[0-9a-f]{64})\ size:\ [0-9]+$ ]] || fail "$cli push printed: $output"
    assert_eq "$(curl -s -o /dev/null -w '%{http_code} %header{docker-content-digest}' -H "$accept" \
      "http://$REGISTRY/v2/pushed/busybox/manifests/v$n")" "200 ${BASH_REMATCH[1]}" "$cli: the registry's manifest"
  done
  # A layer the registry has never seen is uploaded; after rmi, a pull brings the image back and it runs.
  dk run --name push-src --network none "$IMG" sh -c 'echo pushed >/pushed.txt'
  dk commit push-src "$REGISTRY/pushed/committed:1" >/dev/null
  dk rm push-src >/dev/null
  run dk push "$REGISTRY/pushed/committed:1"
  assert_success
  assert_output_contains ": Pushed"
  dk rmi "$REGISTRY/pushed/committed:1" >/dev/null
  run dk pull "$REGISTRY/pushed/committed:1"
  assert_success
  assert_eq "$(dk run --rm --network none "$REGISTRY/pushed/committed:1" cat /pushed.txt)" "pushed"
  # --all-tags pushes every tag of the repository; without a tag, latest.
  run dk push -a "$REGISTRY/pushed/busybox"
  assert_success
  for i in $(seq 1 "$n"); do assert_output_contains "v$i: digest:"; done
  for cli in $DOCKER_CLIS; do
    run dkc "$cli" push "$REGISTRY/pushed/none"
    assert_failure
    assert_output_contains "An image does not exist locally with the tag: $REGISTRY/pushed/none"
  done
  run lm push -a "$REGISTRY/pushed/busybox:v1"
  assert_failure
  assert_output_contains "tag can't be used with --all-tags/-a"
  run dk events --since "$since" --until "$(date +%s.%N)" --filter type=image --filter event=push --format '{{.Actor.ID}}'
  assert_output_contains "$REGISTRY/pushed/committed:1"
  for i in $(seq 1 "$n"); do dk rmi "$REGISTRY/pushed/busybox:v$i" >/dev/null; done
  dk rmi "$REGISTRY/pushed/committed:1" >/dev/null
}

@test "docker login: credentials checked against a registry that asks for them, then pushes and pulls carry them, through both clients" {
  local dir="$BATS_TEST_TMPDIR/auth-registry" reg cli n=0
  mkdir -p "$dir"
  # htpasswd(1)'s bcrypt lines, which the registry checks Basic credentials against; at cost 5
  # (the default 12 makes each request take a quarter of a second).
  printf 'ann:%s\n' "$(python3 -W ignore -c 'import crypt; print(crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=32)))')" \
    >"$dir/htpasswd"
  reg="$(registry_start "$dir")"
  dk pull -q "$IMG" >/dev/null
  for cli in $DOCKER_CLIS; do
    [ "$cli" != "$LIMAN_CLI" ] || continue  # the liman CLI keeps no credentials
    n=$((n + 1))
    dkc "$cli" tag "$IMG" "$reg/private/busybox:$n"
    run dkc "$cli" push "$reg/private/busybox:$n" </dev/null
    assert_failure
    assert_output_contains "requires basic authentication and no credentials were given"
    run dkc "$cli" login -u ann --password-stdin "$reg" <<<"wrong"
    assert_failure
    assert_output_contains "login attempt to http://$reg/v2/ failed with status: 401 Unauthorized"
    run dkc "$cli" login -u ann --password-stdin "$reg" <<<"s3cret"
    assert_success
    assert_output_contains "Login Succeeded"
    run dkc "$cli" push "$reg/private/busybox:$n"
    assert_success
    assert_output_contains "$n: digest: sha256:"
    dkc "$cli" rmi "$reg/private/busybox:$n" >/dev/null
    run dkc "$cli" pull "$reg/private/busybox:$n"
    assert_success
    assert_eq "$(dkc "$cli" run --rm --network none "$reg/private/busybox:$n" echo from-private)" "from-private"
    dkc "$cli" logout "$reg" >/dev/null
    dkc "$cli" rmi "$reg/private/busybox:$n" >/dev/null
    # Refused at once, not a 401 (which the CLI would answer with a login prompt).
    run dkc "$cli" pull "$reg/private/busybox:$n" </dev/null
    assert_failure
    assert_output_contains "no credentials were given"
    assert_output_not_contains "Login prior to pull"
  done
  run api POST /auth '{"username": 7}'
  assert_output_contains "400 "
  assert_output_contains "cannot unmarshal number into Go struct field AuthConfig.username of type string"
  registry_stop "$dir"
}

@test "healthchecks: --health-cmd and an image's HEALTHCHECK run as execs; starting, unhealthy, healthy in inspect, ps and events; timeouts" {
  dk pull -q "$IMG" >/dev/null
  local since cli n=0 log
  since="$(date +%s.%N)"
  for cli in $DOCKER_CLIS; do
    n=$((n + 1))
    dkc "$cli" run -d --name "hc$n" --network none --health-cmd 'test -e /ok' --health-interval 1s \
      --health-retries 2 "$IMG" sleep 300 >/dev/null
    assert_eq "$(dkc "$cli" inspect -f '{{.State.Health.Status}}' "hc$n")" "starting" "$cli: before the first probe"
    assert_eq "$(dkc "$cli" ps --filter "name=hc$n" --format '{{.Status}}' | sed 's/.*(//')" "health: starting)"
    wait_for_value 20 "$cli: health without /ok" unhealthy dkc "$cli" inspect -f '{{.State.Health.Status}}' "hc$n"
    log="$(dkc "$cli" inspect -f '{{json .State.Health}}' "hc$n")"
    [ "$(jq .FailingStreak <<<"$log")" -ge 2 ] || fail "$cli: failing streak: $log"
    assert_eq "$(jq '.Log[-1].ExitCode' <<<"$log")" 1 "$cli: the failed probe's exit code"
    dk exec "hc$n" touch /ok
    wait_for_value 20 "$cli: health with /ok" healthy dkc "$cli" inspect -f '{{.State.Health.Status}}' "hc$n"
    assert_eq "$(dkc "$cli" inspect -f '{{.State.Health.FailingStreak}}' "hc$n")" 0
    [[ "$(dkc "$cli" ps --filter "name=hc$n" --format '{{.Status}}')" =~ ^Up\ .*\ \(healthy\)$ ]] || fail "$cli: ps status"
    assert_eq "$(dkc "$cli" ps -q --filter "name=hc$n" --filter health=healthy | wc -l)" 1 "$cli: ps --filter health=healthy"
    assert_eq "$(dkc "$cli" ps -q --filter "name=hc$n" --filter health=unhealthy | wc -l)" 0 "$cli: ps --filter health=unhealthy"
  done
  run dk events --since "$since" --until "$(date +%s.%N)" --filter container=hc1 --format '{{.Action}}'
  assert_output_contains "health_status: unhealthy"
  assert_output_contains "health_status: healthy"
  assert_output_contains "exec_create: /bin/sh -c test -e /ok"
  # A probe past its timeout is killed and fails with Docker's words.
  dk run -d --name hc-slow --network none --health-cmd 'sleep 30' --health-interval 1s --health-timeout 1s \
    "$IMG" sleep 300 >/dev/null
  wait_for_value 20 "slow probe" 1 dk inspect -f '{{len .State.Health.Log}}' hc-slow
  log="$(dk inspect -f '{{json .State.Health.Log}}' hc-slow)"
  assert_eq "$(jq -r '.[0].Output' <<<"$log") $(jq '.[0].ExitCode' <<<"$log")" "Health check exceeded timeout (1s) -1"
  # An image's HEALTHCHECK applies, and --no-healthcheck turns it off.
  local ctx="$BATS_TEST_TMPDIR/hc-ctx"
  mkdir -p "$ctx"
  printf 'FROM %s\nHEALTHCHECK --interval=1s CMD ["true"]\n' "$IMG" >"$ctx/Dockerfile"
  DOCKER_BUILDKIT=0 dk build -q -t hc/image "$ctx" >/dev/null
  dk run -d --name hc-image --network none hc/image sleep 300 >/dev/null
  wait_for_value 20 "the image's healthcheck" healthy dk inspect -f '{{.State.Health.Status}}' hc-image
  dk run -d --name hc-off --network none --no-healthcheck hc/image sleep 300 >/dev/null
  assert_eq "$(dk inspect -f '{{json .State.Health}}' hc-off)" "null"
  # After a stop the health stays as it was; a new start begins with starting.
  dk stop -t 1 hc-image >/dev/null
  assert_eq "$(dk inspect -f '{{.State.Health.Status}}' hc-image)" "healthy"
  dk start hc-image >/dev/null
  assert_eq "$(dk inspect -f '{{.State.Health.Status}}' hc-image)" "starting"
  dk rm -f $(dk ps -aq --filter name=hc) >/dev/null
  dk rmi hc/image >/dev/null
  dk builder prune -f >/dev/null
}

@test "--pid, --ipc, --uts host and container:NAME (a shareable /dev/shm), --cgroupns, --volumes-from and --oom-score-adj reach the container, through every client" {
  dk pull -q "$IMG" >/dev/null
  local cli ns host_ns
  dk run -d --name ns-owner --network none --ipc shareable --shm-size 2m -v nsvol:/data "$IMG" \
    sh -c 'echo from-owner >/data/f; echo in-shm >/dev/shm/seg; sleep 300' >/dev/null
  wait_for_value 20 "ns-owner's file" from-owner dk exec ns-owner cat /data/f
  local owner_id shm_mounts
  owner_id="$(dk inspect -f '{{.Id}}' ns-owner)"
  # The shareable /dev/shm is a tmpfs of its --shm-size mounted on the host while it runs.
  shm_mounts() { grep -c "/containers/$owner_id/mounts/shm " /proc/self/mountinfo || true; }
  assert_eq "$(shm_mounts)" 1 "the host-side shm mount"
  assert_eq "$(dk exec ns-owner df -k /dev/shm | awk 'NR == 2 { print $2 }')" 2048 "its size"
  for cli in $DOCKER_CLIS; do
    for ns in pid ipc uts; do
      host_ns="$(readlink "/proc/$$/ns/$ns")"
      assert_eq "$(dkc "$cli" run --rm --network none "--$ns" host "$IMG" readlink "/proc/self/ns/$ns")" "$host_ns" "$cli --$ns host"
      [ "$(dkc "$cli" run --rm --network none "$IMG" readlink "/proc/self/ns/$ns")" != "$host_ns" ] || fail "$cli: own $ns"
    done
    assert_eq "$(dkc "$cli" run --rm --network none --uts host "$IMG" hostname)" "$(hostname)" "$cli: --uts host's name"
    for ns in pid ipc; do
      assert_eq "$(dkc "$cli" run --rm --network none "--$ns" container:ns-owner "$IMG" readlink "/proc/self/ns/$ns")" \
        "$(dk exec ns-owner readlink "/proc/self/ns/$ns")" "$cli --$ns container:"
    done
    run dkc "$cli" run --rm --network none --pid container:ns-owner "$IMG" ps -o args
    assert_output_contains "sleep 300"
    assert_eq "$(dkc "$cli" run --rm --network none --ipc container:ns-owner "$IMG" cat /dev/shm/seg)" "in-shm" "$cli: the shared /dev/shm"
    assert_eq "$(dkc "$cli" run --rm --network none --volumes-from ns-owner "$IMG" cat /data/f)" "from-owner" "$cli --volumes-from"
    run dkc "$cli" run --rm --network none --volumes-from ns-owner:ro "$IMG" touch /data/g
    assert_failure
    assert_output_contains "Read-only file system"
    assert_eq "$(dkc "$cli" run --rm --network none --oom-score-adj 500 "$IMG" cat /proc/self/oom_score_adj)" "500"
    # --cgroupns private: a cgroup namespace of its own, rooted at its cgroup; host (this
    # hybrid host's default) shares the host's.
    host_ns="$(readlink /proc/$$/ns/cgroup)"
    [ "$(dkc "$cli" run --rm --network none --cgroupns private "$IMG" readlink /proc/self/ns/cgroup)" != "$host_ns" ] || fail "$cli: --cgroupns private"
    assert_eq "$(dkc "$cli" run --rm --network none --cgroupns private "$IMG" sh -c 'grep :memory: /proc/self/cgroup')" "$(grep -m1 ':memory:' /proc/self/cgroup | cut -d: -f1-2):/" "$cli: its cgroup is its root"
    assert_eq "$(dkc "$cli" run --rm --network none --cgroupns host "$IMG" readlink /proc/self/ns/cgroup)" "$host_ns" "$cli --cgroupns host"
  done
  run dk run --rm --network none --pid container:nope "$IMG" true
  assert_failure
  assert_output_contains "No such container: nope"
  run api POST /containers/create "{\"Image\": \"$IMG\", \"HostConfig\": {\"PidMode\": \"bogus\"}}"
  assert_output_contains "400 "
  assert_output_contains "invalid PID mode: bogus"
  run api POST /containers/create "{\"Image\": \"$IMG\", \"HostConfig\": {\"CgroupnsMode\": \"bogus\"}}"
  assert_output_contains "400 "
  assert_output_contains "invalid cgroup namespace mode: bogus"
  assert_eq "$(dk inspect -f '{{.HostConfig.CgroupnsMode}}' ns-owner)" host "the default on this hybrid host"
  # A donor of the default IPC mode (private) shares nothing.
  dk run -d --name ns-owner-private --network none "$IMG" sleep 300 >/dev/null
  assert_eq "$(dk inspect -f '{{.HostConfig.IpcMode}}' ns-owner-private)" private "the default IPC mode"
  run dk run --rm --network none --ipc container:ns-owner-private "$IMG" true
  assert_failure
  assert_output_contains "can't join IPC of container ns-owner-private: non-shareable IPC (hint: use IpcMode:shareable for the donor container)"
  dk rm -f ns-owner-private >/dev/null
  dk create --name ns-late --network none --pid container:ns-owner "$IMG" true >/dev/null
  dk stop -t 1 ns-owner >/dev/null
  assert_eq "$(shm_mounts)" 0 "the shm mount after the owner stopped"
  run dk start ns-late
  assert_failure
  assert_output_contains "cannot join PID of a non running container: ns-owner"
  dk start ns-owner >/dev/null
  assert_eq "$(shm_mounts)" 1 "the shm mount after the owner started again"
  dk rm -f ns-late ns-owner >/dev/null
  assert_eq "$(shm_mounts)" 0 "the shm mount after the owner was removed"
  dk volume rm nsvol >/dev/null
}

@test "--network container:NAME: the other container's namespace, address, loopback, hostname and /etc files, through every client; moby's refusals" {
  dk pull -q "$IMG" >/dev/null
  local cli owner_ip owner_ns owner_name
  # The owner serves its /etc on its loopback only.
  dk run -d --name net-owner "$IMG" httpd -f -p 127.0.0.1:8080 -h /etc >/dev/null
  owner_ip="$(dk inspect -f '{{.NetworkSettings.IPAddress}}' net-owner)"
  owner_ns="$(dk exec net-owner readlink /proc/self/ns/net)"
  owner_name="$(dk exec net-owner hostname)"
  [ -n "$owner_ip" ] || fail "the owner has no address"
  for cli in $DOCKER_CLIS; do
    assert_eq "$(dkc "$cli" run --rm --network container:net-owner "$IMG" readlink /proc/self/ns/net)" "$owner_ns" "$cli: the namespace"
    assert_eq "$(dkc "$cli" run --rm --network container:net-owner "$IMG" wget -qO- http://127.0.0.1:8080/hostname)" \
      "$owner_name" "$cli: the owner's loopback"
    assert_eq "$(dkc "$cli" run --rm --network container:net-owner "$IMG" hostname)" "$owner_name" "$cli: the hostname"
    run dkc "$cli" run --rm --network container:net-owner "$IMG" sh -c 'ip -4 addr show eth0; cat /etc/hosts'
    assert_success
    assert_output_contains "inet $owner_ip/"
    assert_output_contains "$owner_ip	$owner_name"
  done
  # An owner without a network of its own (--network none): the same namespace.
  dk run -d --name none-owner --network none "$IMG" sleep 300 >/dev/null
  assert_eq "$(dk run --rm --network container:none-owner "$IMG" readlink /proc/self/ns/net)" \
    "$(dk exec none-owner readlink /proc/self/ns/net)" "none-owner's namespace"
  dk create --name net-joined --network container:net-owner "$IMG" sleep 300 >/dev/null
  assert_eq "$(dk inspect -f '{{.HostConfig.NetworkMode}} {{len .NetworkSettings.Networks}}' net-joined)" "container:net-owner 0"
  dk start net-joined >/dev/null
  assert_eq "$(dk exec net-joined readlink /proc/self/ns/net)" "$owner_ns" "net-joined's namespace"
  dk network create net-other >/dev/null
  run dk network connect net-other net-joined
  assert_failure
  assert_output_contains "container sharing network namespace with another container or host cannot be connected to any other network"
  dk network rm net-other >/dev/null
  # The owner must run when a joined container starts.
  dk stop -t 1 net-joined >/dev/null
  dk stop -t 1 net-owner >/dev/null
  run dk start net-joined
  assert_failure
  assert_output_contains "cannot join network of a non running container: net-owner"
  dk rm -f net-joined net-owner none-owner >/dev/null
  # moby's refusals, through the API (the clients check some of these themselves).
  run dk run --rm --network container:nope "$IMG" true
  assert_failure
  assert_output_contains "No such container: nope"
  local body
  for body in '"Hostname": "h"|hostname and the network mode' \
    '"HostConfig": {"NetworkMode": "container:x", "PortBindings": {"80/tcp": [{"HostPort": "8081"}]}}|port publishing and the container type network mode' \
    '"HostConfig": {"NetworkMode": "container:x", "Dns": ["1.1.1.1"]}|dns and the network mode' \
    '"HostConfig": {"NetworkMode": "container:"}|Invalid network mode: invalid container format container:<name|id>'; do
    case "${body%%|*}" in
      *HostConfig*) run api POST /containers/create "{\"Image\": \"$IMG\", ${body%%|*}}" ;;
      *) run api POST /containers/create "{\"Image\": \"$IMG\", ${body%%|*}, \"HostConfig\": {\"NetworkMode\": \"container:x\"}}" ;;
    esac
    assert_output_contains "400 "
    assert_output_contains "${body#*|}"
  done
}

@test "legacy links (--link) on the default bridge: hosts entries, the link's variables under the container's own, execs, a stopped link refused, through every client" {
  dk pull -q "$IMG" >/dev/null
  local cli n=0 db_ip db_host
  dk run -d --name link-db -e DB_PASSWORD=secret --expose 5432 "$IMG" sleep 300 >/dev/null
  db_ip="$(dk inspect -f '{{.NetworkSettings.IPAddress}}' link-db)"
  db_host="$(dk inspect -f '{{.Config.Hostname}}' link-db)"
  for cli in $DOCKER_CLIS; do
    n=$((n + 1))
    run dkc "$cli" run --rm --name "link-web$n" --link link-db:store "$IMG" sh -c 'grep store /etc/hosts; env | grep ^STORE_ | sort; ping -c 1 -W 5 store >/dev/null && echo reached'
    assert_success
    assert_output_contains "$db_ip	store $db_host link-db"
    assert_output_contains "STORE_PORT=tcp://$db_ip:5432"
    assert_output_contains "STORE_PORT_5432_TCP=tcp://$db_ip:5432"
    assert_output_contains "STORE_PORT_5432_TCP_ADDR=$db_ip"
    assert_output_contains "STORE_NAME=/link-web$n/store"
    assert_output_contains "STORE_ENV_DB_PASSWORD=secret"
    assert_output_contains "reached"
  done
  # The container's own variables win over the link's; the link name alone is its alias.
  assert_eq "$(dk run --rm --link link-db -e LINK_DB_NAME=mine "$IMG" sh -c 'echo $LINK_DB_NAME $LINK_DB_ENV_DB_PASSWORD')" "mine secret"
  dk run -d --name link-web --link link-db:store "$IMG" sleep 300 >/dev/null
  assert_eq "$(dk inspect -f '{{json .HostConfig.Links}}' link-web)" '["/link-db:/link-web/store"]'
  assert_eq "$(dk exec link-web sh -c 'echo $STORE_PORT_5432_TCP_PORT')" 5432 "an exec's environment"
  dk stop -t 1 link-web >/dev/null
  dk stop -t 1 link-db >/dev/null
  run dk start link-web
  assert_failure
  assert_output_contains "Cannot link to a non running container: /link-db AS /link-web/store"
  dk rm -f link-web link-db >/dev/null
  run dk run --rm --link nope "$IMG" true
  assert_failure
  assert_output_contains "could not get container for nope"
  run api POST /containers/create "{\"Image\": \"$IMG\", \"HostConfig\": {\"NetworkMode\": \"host\", \"Links\": [\"x:y\"]}}"
  assert_output_contains "400 "
  assert_output_contains "conflicting options: host type networking can't be used with links"
}

# The orphan of `sh -c '(sleep 0.2 &); exec sleep 300'` in container $1: "running", "zombie" or gone.
orphan_state() { dk exec "$1" ps -o stat,args | awk '$2 == "sleep" && $3 == "0.2" { print "running" } $1 ~ /^Z/ { print "zombie" }'; }

@test "--init: docker-init is PID 1, runs the command, passes its exit code, forwards signals and reaps orphans, through every client" {
  dk pull -q "$IMG" >/dev/null
  local cli
  for cli in $DOCKER_CLIS; do
    run dkc "$cli" run --rm --network none --init "$IMG" ps -o pid,args
    assert_success
    assert_output_contains "1 /sbin/docker-init -- ps -o pid,args"
    assert_eq "$(dkc "$cli" run --rm --network none "$IMG" cat /proc/1/cmdline | tr '\0' ' ')" "cat /proc/1/cmdline " "$cli: no init"
    run dkc "$cli" run --rm --network none --init "$IMG" sh -c 'exit 7'
    assert_eq "$status" 7 "$cli: the command's exit code"
  done
  dk run -d --name init-reaps --network none --init "$IMG" sh -c '(sleep 0.2 &); exec sleep 300' >/dev/null
  dk run -d --name no-init --network none "$IMG" sh -c '(sleep 0.2 &); exec sleep 300' >/dev/null
  assert_eq "$(dk inspect -f '{{.HostConfig.Init}}' init-reaps)" "true"
  # sleep as PID 1 never waits: the orphan stays a zombie; docker-init reaps it.
  wait_for_value 20 "the orphan without an init" zombie orphan_state no-init
  wait_for_value 20 "the orphan under docker-init" "" orphan_state init-reaps
  # sleep as PID 1 would ignore SIGTERM until the 60 s were up and SIGKILL came (137); the
  # init passes SIGTERM on, and sleep dies of it (128 + 15).
  dk stop -t 60 init-reaps >/dev/null
  assert_eq "$(dk inspect -f '{{.State.ExitCode}}' init-reaps)" 143 "stopped through the init"
  dk rm -f init-reaps no-init >/dev/null
  assert_eq "$(dk info --format '{{.InitBinary}}')" "docker-init" "info"
}

@test "live restore: 10 writers and a 1 MB/s writer run on through a 10 s outage of limand and liman-containerd; exits are kept" {
  local i
  for i in $(seq 1 10); do
    dk run -d --name "w$i" --network none "$IMG" sh -c 'i=0; while true; do echo n$i; i=$((i+1)); sleep 0.1; done' >/dev/null
  done
  # 1 MB/s: 100 lines of 1000 bytes every 0.1 s, each line numbered.
  dk run -d --name fast --network none "$IMG" sh -c \
    'pad=$(head -c 990 /dev/zero | tr "\0" x); i=0; while true; do j=0; while [ $j -lt 100 ]; do echo "$i $pad"; i=$((i+1)); j=$((j+1)); done; sleep 0.1; done' >/dev/null
  # Two tmpfs volumes: one whose user exits during the outage, one whose user runs on.
  dk volume create --opt type=tmpfs --opt device=tmpfs lr-quit-vol >/dev/null
  dk volume create --opt type=tmpfs --opt device=tmpfs lr-vol >/dev/null
  local quit_data vol_data
  quit_data="$(dk volume inspect -f '{{.Mountpoint}}' lr-quit-vol)"
  vol_data="$(dk volume inspect -f '{{.Mountpoint}}' lr-vol)"
  dk run -d --name quitter --network none -v lr-quit-vol:/v "$IMG" sh -c 'sleep 2; exit 7' >/dev/null
  dk run -d --name checked --network none -v lr-vol:/v --health-cmd true --health-interval 1s "$IMG" sleep 300 >/dev/null
  wait_for_value 20 "checked's health" healthy dk inspect -f '{{.State.Health.Status}}' checked
  local pid id
  pid="$(state w1 Pid)"
  id="$(dk inspect -f '{{.Id}}' w1)"
  local fast_log
  fast_log="$(dk inspect -f '{{.LogPath}}' fast)"
  stop_daemon limand KILL
  stop_daemon containerd KILL
  # Both daemons are gone; the container is still there to enter.
  run nsenter -t "$pid" -u hostname
  assert_success
  assert_eq "$output" "${id:0:12}"
  local before after
  before="$(wc -l <"$fast_log")"
  sleep 10
  after="$(wc -l <"$fast_log")"
  # The fast writer never blocked: about 10 MB were logged while nobody was there to read.
  [ $((after - before)) -ge 3000 ] || fail "the 1 MB/s writer logged $((after - before)) lines in 10 s of outage"
  local restarted
  restarted="$(date +%s)"
  run_containerd
  start_limand
  for i in $(seq 1 10); do
    assert_eq "$(state "w$i" Status)" "running"
  done
  assert_eq "$(state w1 Pid)" "$pid"
  # The healthcheck runs on after the restart: it kept its status, and new probes come.
  assert_eq "$(state checked Health.Status)" "healthy"
  last_probe_after_restart() {
    local end
    end="$(dk inspect -f '{{json .State.Health.Log}}' checked | jq -r '.[-1].Start')"
    [ "$(date -d "$end" +%s)" -ge "$restarted" ] && echo yes
  }
  wait_for_value 20 "a probe after limand's restart" yes last_probe_after_restart
  wait_for_value 20 "quitter's exit code" "exited 7" bash -c "DOCKER_HOST=unix://$ENGINE_SOCK ${DOCKER_CLIS%% *} inspect -f '{{.State.Status}} {{.State.ExitCode}}' quitter"
  # The volume of the container that exited meanwhile is unmounted; the running one's stays.
  assert_eq "$(host_mounts "$quit_data")" 0 "the exited user's tmpfs volume"
  assert_eq "$(host_mounts "$vol_data")" 1 "the running user's tmpfs volume"
  # No line is missing: every counter runs on without a gap.
  local last count
  for i in 1 5 10; do
    run dk logs "w$i"
    last="$(tail -n 1 <<<"$output")"
    count="$(grep -c . <<<"$output")"
    [ "$count" -eq "$(( ${last#n} + 1 ))" ] || fail "w$i: log lines missing: $count lines, last $last"
  done
  run bash -c "DOCKER_HOST=unix://$ENGINE_SOCK ${DOCKER_CLIS%% *} logs fast | cut -d' ' -f1"
  last="$(tail -n 1 <<<"$output")"
  count="$(grep -c . <<<"$output")"
  [ "$count" -eq "$((last + 1))" ] || fail "fast: $count lines, last number $last"
  dk rm -f $(seq -f 'w%g' 1 10) fast quitter checked >/dev/null
  assert_eq "$(host_mounts "$vol_data")" 0 "the tmpfs volume after its user went"
  dk volume rm lr-vol lr-quit-vol >/dev/null
}
