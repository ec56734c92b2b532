#!/usr/bin/env bash
# SSH hosts for the tests: network namespaces pt-ssh-1..N at 10.96.0.1i, each with its own dockerd
# (../template_hosts/engines.sh) and an sshd in a mount namespace where /run/docker.sock is that host's engine.
# Login: user ptssh (not root) with a key made here, in group docker, sudo to root without a password.
#
#   hosts.sh up DIR N     DIR receives id_ed25519 (the client key), known_hosts, sshd_config, host keys
#   hosts.sh down DIR N
set -euo pipefail
action=${1:?up or down}
dir=${2:?directory}
count=${3:-2}
here="$(cd "$(dirname "$0")" && pwd)"
user=ptssh
export ENGINES_PREFIX=pt-ssh- ENGINES_BRIDGE=br-pt-ssh ENGINES_SUBNET=10.96.0 ENGINES_TCP="" ENGINES_SSHD=1 ENGINES_SSHD_DIR="$dir"

up() {
    mkdir -p "$dir"
    id "$user" >/dev/null 2>&1 || useradd --create-home --shell /bin/sh "$user"
    usermod -a -G docker -p '*' "$user"    # '*': no password, but not a locked account (sshd refuses those)
    echo "$user ALL=(ALL) NOPASSWD: ALL" >/etc/sudoers.d/pt-ssh
    chmod 0440 /etc/sudoers.d/pt-ssh
    [ -f "$dir/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C pt-ssh-client -f "$dir/id_ed25519"
    [ -f "$dir/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C pt-ssh-host -f "$dir/host_ed25519"
    home="$(getent passwd "$user" | cut -d: -f6)"
    install -d -m 0700 -o "$user" -g "$user" "$home/.ssh"
    install -m 0600 -o "$user" -g "$user" "$dir/id_ed25519.pub" "$home/.ssh/authorized_keys"
    cat >"$dir/sshd_config" <<CONF
Port 22
HostKey $dir/host_ed25519
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers $user
UsePAM no
Subsystem sftp /usr/lib/openssh/sftp-server
CONF
    : >"$dir/known_hosts"
    for i in $(seq 1 "$count"); do
        echo "10.96.0.1$i $(cut -d' ' -f1,2 "$dir/host_ed25519.pub")" >>"$dir/known_hosts"
    done
    "$here/../template_hosts/engines.sh" up "$count"
}

down() {
    "$here/../template_hosts/engines.sh" down "$count" || true
    rm -f /etc/sudoers.d/pt-ssh
    # (the inventory keeps no ssh master connections, so no session of the user outlives its task)
    if id "$user" >/dev/null 2>&1; then
        userdel --force --remove "$user" 2>/dev/null || true
    fi
    rm -rf "$dir"
}

"$action"
