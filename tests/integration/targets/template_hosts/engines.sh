#!/usr/bin/env bash
# Engines for the multi-host test: each in its own network namespace (a "host"), reachable from
# this machine over a test bridge at 10.98.0.1N (TCP 2375, test-only, no TLS) and through a unix
# socket, each with its own copy of the test image.  See offline-rig.md for why nsenter, not
# `ip netns exec`, starts dockerd.
#
#   engines.sh up N     start N engines (idempotent)
#   engines.sh down N   stop them and remove their namespaces and data
#
# Other targets reuse it with their own names and addresses (the defaults are this target's):
#   ENGINES_PREFIX   namespace names PREFIXi (pttpl)        ENGINES_BRIDGE  the test bridge (br-pttpl)
#   ENGINES_SUBNET   first three octets of 10.x.y (10.98.0); host i is SUBNET.1i, the bridge SUBNET.1
#   ENGINES_TCP      the engine's TCP listener, PORT or "" for the unix socket only (2375)
#   ENGINES_TLS_DIR  with ca.pem, server-cert.pem, server-key.pem: the TCP listener requires TLS and a
#                    client certificate signed by ca.pem (--tlsverify)
#   ENGINES_SSHD     1: each host also runs sshd (config ENGINES_SSHD_DIR/sshd_config, port 22 on its
#                    address) in a mount namespace of its own where /run/docker.sock is the host's engine,
#                    so that what logs in there finds that engine at the usual place
set -euo pipefail

action=${1:?up or down}
count=${2:-2}
prefix=${ENGINES_PREFIX:-pttpl}
bridge=${ENGINES_BRIDGE:-br-pttpl}
subnet=${ENGINES_SUBNET:-10.98.0}
tcp_port=${ENGINES_TCP-2375}
tls_dir=${ENGINES_TLS_DIR:-}
sshd=${ENGINES_SSHD:-0}
sshd_dir=${ENGINES_SSHD_DIR:-}
image=${POLYTOPE_TEST_IMAGE:-polytope-test/busybox:latest}

up() {
    ip link show "$bridge" >/dev/null 2>&1 || {
        ip link add "$bridge" type bridge
        ip addr add "$subnet.1/24" dev "$bridge"
    }
    ip link set "$bridge" up
    for i in $(seq 1 "$count"); do
        ns=$prefix$i
        sock=/run/docker-$ns.sock
        if ! ip netns list | grep -qw "$ns"; then
            ip netns add "$ns"
            ip link add "v$ns" type veth peer name eth0 netns "$ns"
            ip link set "v$ns" master "$bridge" up
            ip netns exec "$ns" sh -c "ip addr add $subnet.1$i/24 dev eth0 && ip link set eth0 up && ip link set lo up && ip route add default via $subnet.1"
        fi
        if ! docker -H "unix://$sock" info >/dev/null 2>&1; then
            listen=()
            if [ -n "$tcp_port" ]; then
                listen=(-H "tcp://$subnet.1$i:$tcp_port")
                if [ -n "$tls_dir" ]; then
                    listen+=(--tlsverify --tlscacert "$tls_dir/ca.pem" --tlscert "$tls_dir/server-cert.pem" --tlskey "$tls_dir/server-key.pem")
                fi
            fi
            setsid nsenter --net="/var/run/netns/$ns" dockerd \
                --data-root "/var/lib/docker-$ns" --exec-root "/run/docker-$ns" --pidfile "/run/docker-$ns.pid" \
                -H "unix://$sock" "${listen[@]}" --bip "172.3$i.0.1/16" --cgroup-parent "docker-$ns" \
                >"/var/log/dockerd-$ns.log" 2>&1 < /dev/null &
            for _ in $(seq 1 60); do
                docker -H "unix://$sock" info >/dev/null 2>&1 && break
                sleep 0.5
            done
            docker -H "unix://$sock" info >/dev/null
        fi
        docker -H "unix://$sock" image inspect "$image" >/dev/null 2>&1 || docker save "$image" | docker -H "unix://$sock" load -q
        if [ "$sshd" = 1 ] && ! { [ -s "/run/sshd-$ns.pid" ] && kill -0 "$(cat "/run/sshd-$ns.pid")" 2>/dev/null; }; then
            mkdir -p /run/sshd   # sshd's privilege separation directory
            [ -e /run/docker.sock ] || die_sshd "/run/docker.sock does not exist: the main engine must run"
            setsid nsenter --net="/var/run/netns/$ns" unshare --mount --propagation private sh -c \
                "mount --bind '$sock' /run/docker.sock && exec /usr/sbin/sshd -f '$sshd_dir/sshd_config' -o ListenAddress=$subnet.1$i -o PidFile=/run/sshd-$ns.pid -E /var/log/sshd-$ns.log" \
                </dev/null >/dev/null 2>&1
            for _ in $(seq 1 40); do
                [ -s "/run/sshd-$ns.pid" ] && timeout 1 bash -c "echo >/dev/tcp/$subnet.1$i/22" 2>/dev/null && break
                sleep 0.25
            done
            timeout 1 bash -c "echo >/dev/tcp/$subnet.1$i/22" || die_sshd "sshd in $ns does not answer; see /var/log/sshd-$ns.log"
        fi
    done
}

die_sshd() { echo "engines.sh: $*" >&2; exit 1; }

down() {
    for i in $(seq 1 "$count"); do
        ns=$prefix$i
        if [ -s "/run/sshd-$ns.pid" ]; then
            kill "$(cat "/run/sshd-$ns.pid")" 2>/dev/null || true
            rm -f "/run/sshd-$ns.pid"
        fi
        if [ -f "/run/docker-$ns.pid" ]; then
            pid=$(cat "/run/docker-$ns.pid")
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        fi
        ip netns list | grep -qw "$ns" && ip netns del "$ns"
        ip link show "v$ns" >/dev/null 2>&1 && ip link del "v$ns"
        rm -rf "/var/lib/docker-$ns" "/run/docker-$ns" "/run/docker-$ns.sock"
    done
    ip link show "$bridge" >/dev/null 2>&1 && ip link del "$bridge"
    return 0
}

"$action"
