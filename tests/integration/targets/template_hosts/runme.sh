#!/usr/bin/env bash
# Two "hosts", each a network namespace with its own engine (engines.sh), targeted by one play.
set -eux
here="$(cd "$(dirname "$0")" && pwd)"
trap '"$here/engines.sh" down 2' EXIT
"$here/engines.sh" up 2
ansible-playbook -i "$here/inventory.yml" "$here/test.yml" "$@"
