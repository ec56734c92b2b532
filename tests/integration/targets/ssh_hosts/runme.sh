#!/usr/bin/env bash
# Two SSH hosts (network namespaces with sshd and their own dockerd, hosts.sh), reached the ordinary way:
# ansible_connection ssh as a non-root user with become; and one of them as an ssh:// engine from here.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="$(mktemp -d /tmp/pt-ssh-XXXXXX)"
trap '"$here/hosts.sh" down "$dir" 2' EXIT
"$here/hosts.sh" up "$dir" 2

# The controller user's ~/.ssh for the ssh:// engine (the Docker SDK reads ~/.ssh of the user that runs the
# module): the client key and the hosts' keys; a second home knows no host; a Python path that hides paramiko.
install -d -m 0700 "$dir/home/.ssh" "$dir/home-unknown/.ssh" "$dir/no-paramiko/paramiko"
cp "$dir/id_ed25519" "$dir/home/.ssh/id_ed25519"
cp "$dir/known_hosts" "$dir/home/.ssh/known_hosts"
echo 'raise ImportError("paramiko is hidden by the test")' >"$dir/no-paramiko/paramiko/__init__.py"

# the Python on the hosts: this one (it has the Docker SDK); /usr/bin/python3 is the host Python without it
python="$(python -c 'import docker, sys; print(sys.executable)')"
ansible-playbook -i "$here/inventory.yml" "$here/test.yml" -e "ssh_dir=$dir" -e "ssh_python=$python" "$@"
