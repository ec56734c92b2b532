#!/usr/bin/env bash
# A script target: ansible-test's own playbook would run this target as the role "template", which
# resolves to the collection's polytope.core.template role of the same name.
set -eux
export ANSIBLE_ROLES_PATH=..
inventory="${INVENTORY_PATH:-../../inventory}"
ansible-playbook -i "$inventory" test.yml "$@"

# A failing job that carries a secret, in a play of its own so that its output can be read: the play
# fails, shows the exit code and a line of the job's log, and never the secret (not even with -v).
output="$(mktemp)"
trap 'rm -f "$output"' EXIT
set +e
ANSIBLE_NOCOLOR=1 ansible-playbook -i "$inventory" secret_failure.yml -v "$@" >"$output" 2>&1
rc=$?
set -e
cat "$output"
[ "$rc" -ne 0 ] || { echo "secret_failure.yml should have failed"; exit 1; }
grep -q 'Exit code: 7\.' "$output" || { echo "the exit code is not in the output"; exit 1; }
grep -q 'about to fail' "$output" || { echo "the job's log is not in the output"; exit 1; }
grep -q 'token=\*\*\*\*\*\*\*\*' "$output" || { echo "the masked log line is not in the output"; exit 1; }
if grep -q 's3cr3t-it-token' "$output"; then echo "the secret appeared in the output"; exit 1; fi
if docker ps -aq --filter label=polytope.project=it-secret-failing | grep -q .; then
    echo "the teardown without the secret left containers"; exit 1
fi
