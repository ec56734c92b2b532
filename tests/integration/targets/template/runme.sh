#!/usr/bin/env bash
# A script target: ansible-test's own playbook would run this target as the role "template", which
# resolves to the collection's polytope.core.template role of the same name.
set -eux
export ANSIBLE_ROLES_PATH=..
ansible-playbook -i "${INVENTORY_PATH:-../../inventory}" test.yml "$@"
