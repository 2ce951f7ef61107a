#!/usr/bin/env bats
# limand's user-defined bridge networks and embedded DNS, driven by the real docker CLIs:
# network create/ls/inspect/rm (a Linux bridge br-<id> and an nftables table each, gone with
# the network), containers on a network reaching each other by name and alias through
# 127.0.0.11, published ports on a user network, connect/disconnect of a running container,
# and networks and DNS surviving a restart of limand (live restore).

bats_require_minimum_version 1.5.0
DROPIN_MANAGER=liman-containerd
load ../runtime/helpers
load ../dropin/helpers
load ../containerd/helpers
load helpers

# net_create CLI NAME ARGS...: `docker network create`, the bridge's name recorded so that
# teardown removes it even when limand cannot.
net_create() {
  local cli="$1" name="$2" id
  shift 2
  id="$(dkc "$cli" network create "$@" "$name")" || return 1
  echo "br-${id:0:12}" >>"$DROPIN_TMP/net-bridges"
  echo "$id"
}

# The run's own /24s for user networks: 172.31.X with X never ENGINE_SUBNET's, and none the host
# routes already (another run's bridge).
net_subnet() {
  local engine="${ENGINE_SUBNET##*.}" n="$1" x
  for _ in $(seq 200); do
    x=$(((engine - 20 + 1 + n) % 200 + 20))
    [ "$x" = "$engine" ] || ip -4 route | grep -q "^172\.31\.$x\." || break
    n=$((n + 1))
  done
  echo "172.31.$x"
}

setup_file() {
  engine_setup_file
  [ -z "${DROPIN_SKIP:-}" ] || return 0
  local r=$((RANDOM % 150))
  # One /24 a test, so that a failed test leaves nothing in the way of the next.
  NET_A="$(net_subnet "$r")"
  NET_B="$(net_subnet $((r + 10)))"
  NET_C="$(net_subnet $((r + 20)))"
  NET_D="$(net_subnet $((r + 30)))"
  NET_E="$(net_subnet $((r + 40)))"
  NET_F="$(net_subnet $((r + 50)))"
  NET_G="$(net_subnet $((r + 60)))"
  export NET_A NET_B NET_C NET_D NET_E NET_F NET_G
  : >"$DROPIN_TMP/net-bridges"
}

teardown_file() {
  if [ -n "${DROPIN_TMP:-}" ] && [ -S "${ENGINE_SOCK:-/nonexistent}" ]; then
    local ids
    ids="$(dk ps -aq 2>/dev/null)" || true
    [ -z "$ids" ] || dk rm -f $ids >/dev/null 2>&1 || true
    ids="$(dk network ls -q --filter type=custom 2>/dev/null)" || true
    [ -z "$ids" ] || dk network rm $ids >/dev/null 2>&1 || true
  fi
  [ ! -s "${DROPIN_TMP:-/nonexistent}/fake-dns.pid" ] || kill "$(cat "$DROPIN_TMP/fake-dns.pid")" 2>/dev/null || true
  engine_teardown_file
  local bridge
  while read -r bridge; do
    [ -n "$bridge" ] || continue
    ip link del "$bridge" 2>/dev/null || true
    nft delete table ip "liman-$bridge" 2>/dev/null || true
  done <"${DROPIN_TMP:-/nonexistent}/net-bridges" 2>/dev/null || true
}
setup() { dropin_setup; }

@test "network create, ls, inspect, rm through both clients: a bridge and an nft table of its own, gone with it" {
  for cli in $DOCKER_CLIS; do
    local id
    id="$(net_create "$cli" front --subnet "$NET_A.0/24" --label team=a)"
    [[ "$id" =~ ^[0-9a-f]{64}$ ]] || fail "network id: '$id'"
    run dkc "$cli" network ls --format '{{.Name}} {{.Driver}} {{.Scope}}'
    assert_success
    assert_output_contains "front bridge local"
    assert_output_contains "bridge bridge local"
    assert_output_contains "host host local"
    assert_output_contains "none null local"
    run dkc "$cli" network inspect -f '{{.Id}} {{.Driver}} {{.Scope}} {{.Labels.team}} {{.Internal}}' front
    assert_success
    assert_eq "$output" "$id bridge local a false"
    # json, not range or (index …).Field: templates every client here (liman's too) can run.
    run dkc "$cli" network inspect -f '{{json .IPAM.Config}}' front
    assert_success
    assert_output_contains "\"Subnet\":\"$NET_A.0/24\""
    assert_output_contains "\"Gateway\":\"$NET_A.1\""
    run dkc "$cli" network inspect -f '{{.Name}}' "${id:0:10}"
    assert_eq "$output" "front"
    run ip -o -4 addr show "br-${id:0:12}"
    assert_success
    assert_output_contains "inet $NET_A.1/24"
    run nft list table ip "liman-br-${id:0:12}"
    assert_success
    assert_output_contains "masquerade"
    run dkc "$cli" network ls -q --filter name=fro
    assert_eq "$output" "${id:0:12}"

    run dkc "$cli" network create --subnet "$NET_B.0/24" front
    assert_failure
    assert_output_contains "network with name front already exists"
    run dkc "$cli" network create --subnet "$NET_A.0/25" overlapping
    assert_failure
    assert_output_contains "Pool overlaps"
    run dkc "$cli" network create -d overlay other
    assert_failure
    run dkc "$cli" network rm bridge
    assert_failure
    assert_output_contains "bridge is a pre-defined network and cannot be removed"

    run dkc "$cli" network rm front
    assert_success
    ! ip link show "br-${id:0:12}" >/dev/null 2>&1 || fail "br-${id:0:12} is still there after rm"
    ! nft list table ip "liman-br-${id:0:12}" >/dev/null 2>&1 || fail "nft table liman-br-${id:0:12} is still there after rm"
    run dkc "$cli" network inspect front
    assert_failure
    assert_output_contains "front"
  done

  # Without a subnet: a free /24 of 172.28.0.0/15 that no host interface or route uses.
  local auto
  auto="$(net_create "${DOCKER_CLIS%% *}" auto)"
  run dk network inspect -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' auto
  assert_output_matches '^172\.(28|29)\.[0-9]+\.0/24$'
  dk network rm auto >/dev/null
  ! ip link show "br-${auto:0:12}" >/dev/null 2>&1 || fail "br-${auto:0:12} is still there after rm"

  # Docker's errors for bad requests, never the end of the daemon.
  run api POST /networks/create '{"Name":'
  assert_output_matches '^400 .*"message"'
  run api POST /networks/create '{"Name":"bad name!"}'
  assert_output_matches '^400 .*invalid network name'
  run api POST /networks/create '{"Name":"x","Driver":5}'
  assert_output_matches '^400 '
  run api POST /networks/create '{"Name":"x","IPAM":{"Config":[{"Subnet":"not-a-subnet"}]}}'
  assert_output_matches '^400 '
  run api POST /networks/none/connect '{"Container":7}'
  assert_output_matches '^400 '
  run api GET /networks/nosuchnet
  assert_output_matches '^404 .*network nosuchnet not found'
  run api GET /_ping
  assert_eq "$output" "200 OK"
}

@test "containers on a user network reach each other by name and alias through 127.0.0.11; rm refused while in use" {
  local id
  id="$(net_create "${DOCKER_CLIS%% *}" app --subnet "$NET_B.0/24")"
  dk run -d --name srv --network app --network-alias web "$IMG" sh -c 'echo hello-from-srv >/tmp/index.html; httpd -f -p 80 -h /tmp' >/dev/null
  run dk inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{$v.IPAddress}} {{$v.IPPrefixLen}} {{$v.Gateway}} {{$v.MacAddress}} {{$v.NetworkID}} {{$v.Aliases}}{{end}}' srv
  assert_success
  assert_output_matches "^app $NET_B\.[0-9]+ 24 $NET_B\.1 02:42:ac:1f:[0-9a-f]{2}:[0-9a-f]{2} $id \[web [0-9a-f]{12}\]$"
  local ip
  ip="$(dk inspect -f '{{.NetworkSettings.Networks.app.IPAddress}}' srv)"
  wait_for_value 10 "httpd in srv" hello-from-srv curl -s --max-time 2 "http://$ip/index.html"
  run dk network inspect -f '{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}' app
  assert_eq "$output" "srv $ip/24"

  for cli in $DOCKER_CLIS; do
    run dkc "$cli" run --rm --network app "$IMG" cat /etc/resolv.conf
    assert_success
    assert_output_contains "nameserver 127.0.0.11"
    assert_output_contains "options ndots:0"
    run dkc "$cli" run --rm --network app "$IMG" sh -c 'ping -c1 -W2 srv && wget -qO- http://srv/index.html && wget -qO- http://web/index.html'
    assert_success
    assert_output_contains "PING srv ($ip)"
    assert_output_contains "hello-from-srv"
    run dkc "$cli" run --rm --network app "$IMG" nslookup web 127.0.0.11
    assert_success
    assert_output_contains "$ip"
    run dkc "$cli" run --rm --network app "$IMG" ping -c1 -W2 nosuchname
    assert_failure
  done
  # TCP as well as UDP; the short id and name.network are names too.
  local short="$(dk inspect -f '{{.Id}}' srv | cut -c1-12)"
  run dk run --rm --network app "$IMG" sh -c "wget -qO- http://$short/index.html && wget -qO- http://srv.app/index.html"
  assert_success
  assert_output_contains "hello-from-srv"
  # A legacy link's alias is a name for the linking container only.
  run dk run --rm --network app --link srv:backend "$IMG" wget -qO- http://backend/index.html
  assert_success
  assert_output_contains "hello-from-srv"
  run dk run --rm --network app "$IMG" ping -c1 -W2 backend
  assert_failure
  # --ip: the address asked for, or Docker's conflict when it is taken.
  run dk run --rm --network app --ip "$NET_B.200" "$IMG" ip -o -4 addr show eth0
  assert_success
  assert_output_contains "inet $NET_B.200/24"
  run dk run --rm --network app --ip "$ip" "$IMG" true
  assert_failure
  assert_output_contains "Address already in use"
  # The default bridge has no embedded DNS, as Docker's.
  run dk run --rm "$IMG" cat /etc/resolv.conf
  assert_output_not_contains "127.0.0.11"

  run dk network rm app
  assert_failure
  assert_output_contains "has active endpoints"
  dk rm -f srv >/dev/null
  dk network rm app >/dev/null
  ! ip link show "br-${id:0:12}" >/dev/null 2>&1 || fail "br-${id:0:12} is still there after rm"
}

@test "published ports lead to a container on a user network" {
  local port=$((18000 + RANDOM % 1000))
  net_create "${DOCKER_CLIS%% *}" pubnet --subnet "$NET_C.0/24" >/dev/null
  dk run -d --name pubsrv --network pubnet -p "127.0.0.1:$port:80" "$IMG" sh -c 'echo hello-published >/tmp/index.html; httpd -f -p 80 -h /tmp' >/dev/null
  wait_for_value 10 "httpd behind 127.0.0.1:$port" hello-published curl -s --max-time 2 "http://127.0.0.1:$port/index.html"
  run dk port pubsrv
  assert_output_contains "80/tcp -> 127.0.0.1:$port"
  dk rm -f pubsrv >/dev/null
  ! curl -s --max-time 2 "http://127.0.0.1:$port/index.html" || fail "port $port still answers"
  dk network rm pubnet >/dev/null
}

@test "user networks are isolated from each other and from the default bridge; --internal reaches no other interface; DNS forwarding" {
  local iso2
  net_create "${DOCKER_CLIS%% *}" iso1 --subnet "$NET_F.0/24" >/dev/null
  iso2="$(net_create "${DOCKER_CLIS%% *}" iso2 --internal --subnet "$NET_G.0/24")"
  dk run -d --name isosrv --network iso1 "$IMG" sh -c 'echo hello-iso >/tmp/index.html; httpd -f -p 80 -h /tmp' >/dev/null
  local ip
  ip="$(dk inspect -f '{{.NetworkSettings.Networks.iso1.IPAddress}}' isosrv)"
  wait_for_value 10 "httpd in isosrv" hello-iso curl -s --max-time 2 "http://$ip/index.html"
  run dk run --rm --network iso1 "$IMG" timeout 3 wget -qO- "http://$ip/index.html"
  assert_success
  assert_eq "$output" "hello-iso"
  # A connection that is dropped hangs until TCP gives up (minutes). timeout's SIGTERM would not
  # end wget as the container's pid 1 (the kernel drops a signal init has no handler for), so a
  # shell stays pid 1 and wget is its child; busybox 1.35's own `wget -T` crashes.
  run dk run --rm --network iso2 "$IMG" sh -c "timeout 3 wget -qO- http://$ip/index.html; exit \$?"
  assert_failure
  run dk run --rm "$IMG" sh -c "timeout 3 wget -qO- http://$ip/index.html; exit \$?"
  assert_failure
  run dk network inspect -f '{{.Internal}}' iso2
  assert_eq "$output" "true"
  run nft list chain ip "liman-br-${iso2:0:12}" forward
  assert_output_contains "iifname \"br-${iso2:0:12}\" oifname != \"br-${iso2:0:12}\" drop"
  run nft list chain ip "liman-br-${iso2:0:12}" postrouting
  assert_output_not_contains "oifname != \"br-${iso2:0:12}\" masquerade"
  dk rm -f isosrv >/dev/null

  # The embedded DNS forwards other names to limand's --dns from the host's namespace (here a
  # stand-in on a loopback address, which the container itself could never reach); a container
  # whose networks are all --internal gets no forwarding.
  "$LIMAN_TESTS_BIN/liman-fake-dns" "$ENGINE_DNS" 192.0.2.77 >"$DROPIN_TMP/fake-dns.log" 2>&1 &
  local fake=$!
  echo "$fake" >"$DROPIN_TMP/fake-dns.pid"
  wait_for_value 10 "liman-fake-dns on $ENGINE_DNS" listening head -n 1 "$DROPIN_TMP/fake-dns.log"
  run dk run --rm --network iso1 "$IMG" nslookup outside.test
  assert_success
  assert_output_contains "192.0.2.77"
  run dk run --rm --network iso2 "$IMG" nslookup inside-only.test
  assert_failure
  kill "$fake"
  wait "$fake" 2>/dev/null || true
  run cat "$DROPIN_TMP/fake-dns.log"
  assert_output_contains "outside.test 1"
  assert_output_not_contains "inside-only.test"
  dk network rm iso1 iso2 >/dev/null
}

@test "network connect and disconnect of running containers: eth1 comes and goes, names follow" {
  net_create "${DOCKER_CLIS%% *}" late --subnet "$NET_D.0/24" >/dev/null
  dk run -d --name asker --network late "$IMG" sleep 300 >/dev/null
  dk run -d --name joiner "$IMG" sleep 300 >/dev/null
  run dk exec asker ping -c1 -W2 joiner
  assert_failure
  for cli in $DOCKER_CLIS; do
    run dkc "$cli" network connect --alias latecomer late joiner
    assert_success
    run dk exec joiner ip -o -4 addr show eth1
    assert_success
    assert_output_contains "inet $NET_D."
    local ip
    ip="$(dk inspect -f '{{.NetworkSettings.Networks.late.IPAddress}}' joiner)"
    [[ "$ip" == "$NET_D".* ]] || fail "joiner's address on late: '$ip'"
    run dk exec asker sh -c 'ping -c1 -W2 joiner && ping -c1 -W2 latecomer'
    assert_success
    assert_output_contains "PING joiner ($ip)"
    assert_output_contains "PING latecomer ($ip)"
    # Its default route stays on the default bridge.
    run dk exec joiner ip route
    assert_output_contains "default via $ENGINE_SUBNET.1 dev eth0"
    run dkc "$cli" network connect late joiner
    assert_failure
    assert_output_contains "already exists"

    run dkc "$cli" network disconnect late joiner
    assert_success
    run dk exec joiner ip -o link show eth1
    assert_failure
    run dk exec asker ping -c1 -W2 joiner
    assert_failure
    run dk inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' joiner
    assert_eq "$output" "bridge "
  done
  run dk network disconnect late joiner
  assert_failure
  assert_output_contains "is not connected to network late"
  # A stopped container is connected at its next start.
  dk stop -t 1 joiner >/dev/null
  dk network connect late joiner
  dk start joiner >/dev/null
  run dk exec asker ping -c1 -W2 joiner
  assert_success
  dk rm -f asker joiner >/dev/null
  dk network rm late >/dev/null
}

@test "networks and the embedded DNS survive a restart of limand" {
  local id
  id="$(net_create "${DOCKER_CLIS%% *}" durable --subnet "$NET_E.0/24")"
  dk run -d --name keeper --network durable "$IMG" sleep 300 >/dev/null
  dk run -d --name peer --network durable --network-alias buddy "$IMG" sleep 300 >/dev/null
  run dk exec keeper ping -c1 -W2 buddy
  assert_success
  stop_daemon limand KILL
  # While limand is away the containers' DNS is gone; the network stays.
  ip link show "br-${id:0:12}" >/dev/null || fail "br-${id:0:12} went with limand"
  start_limand
  run dk network inspect -f '{{.Id}} {{range .IPAM.Config}}{{.Subnet}}{{end}}' durable
  assert_eq "$output" "$id $NET_E.0/24"
  run dk exec keeper ping -c1 -W2 buddy
  assert_success
  run dk run --rm --network durable "$IMG" ping -c1 -W2 keeper
  assert_success
  # A network made after the restart does not reuse the subnet or the name.
  run dk network create --subnet "$NET_E.0/24" durable2
  assert_failure
  assert_output_contains "Pool overlaps"
  dk rm -f keeper peer >/dev/null
  run dk network prune -f
  assert_success
  assert_output_contains "durable"
  ! ip link show "br-${id:0:12}" >/dev/null 2>&1 || fail "br-${id:0:12} is still there after prune"
  run dk network ls --format '{{.Name}}'
  assert_output_not_contains "durable"
  assert_output_contains "bridge"
}
