#!/usr/bin/env bash
# galaxy-importer, the checks Galaxy and Automation Hub run on an uploaded collection, on the tarball that
# `ansible-galaxy collection build` makes (scripts/galaxy-build.sh) (`make galaxy-check`).
#
# Its ansible-test step needs a container engine of its own (Docker/podman images), which this machine's
# network cannot pull: it is off here, and `make sanity` runs ansible-test on the same files. Everything else
# runs: galaxy.yml and MANIFEST checks, Galaxy's required tags, the changelog, ansible-doc for every plugin,
# the docs blob, ansible-lint (flake8 is off, as on Galaxy: ruff and the pep8 sanity test hold the style). Any error, or a warning galaxy-importer logs, fails the check.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd -P)"
cd "$repo"
log() { printf '[galaxy-check] %s\n' "$*" >&2; }
die() { printf '[galaxy-check] ERROR: %s\n' "$*" >&2; exit 1; }

tarball="$(scripts/galaxy-build.sh)"
out="$repo/build/galaxy"
config="$out/galaxy-importer.cfg"
cat >"$config" <<'EOF'
[galaxy-importer]
run_ansible_test = False
ansible_test_local_image = False
local_image_docker = False
check_required_tags = True
check_changelog = True
run_ansible_doc = True
run_ansible_lint = True
offline_ansible_lint = True
run_flake8 = False
log_level_main = INFO
EOF
export GALAXY_IMPORTER_CONFIG="$config"
export PATH="$repo/.venv-docs/bin:$PATH"
# the importer's ansible-doc and ansible-lint read the collection from its tarball, never this checkout's
unset ANSIBLE_CONFIG ANSIBLE_COLLECTIONS_PATH ANSIBLE_COLLECTIONS_PATHS
log "galaxy-importer $(.venv-docs/bin/python -c 'import importlib.metadata as m; print(m.version("galaxy-importer"))') on $(basename "$tarball")"
rc=0
(cd "$out" && python -m galaxy_importer.main "$tarball") >"$out/importer.log" 2>&1 || rc=$?
cat "$out/importer.log"
[ "$rc" = 0 ] || die "galaxy-importer failed (exit $rc)"
result="$out/importer_result.json"
[ -f "$result" ] || die "galaxy-importer wrote no $result"
# the result names each plugin and role it documented; a warning in its log is a finding Galaxy would show
python - "$result" "$out/importer.log" <<'PY'
import json
import re
import sys

result = json.load(open(sys.argv[1], encoding="utf-8"))
log = open(sys.argv[2], encoding="utf-8").read()
contents = result.get("contents") or []
problems = [line for line in log.splitlines() if re.search(r"\b(WARNING|ERROR)\b", line)]
kinds = {}
for item in contents:
    kinds[item["content_type"]] = kinds.get(item["content_type"], 0) + 1
print("galaxy-importer: %s; %d warnings or errors in its log" % (
    ", ".join("%d %s" % (n, k) for k, n in sorted(kinds.items())) or "no contents", len(problems)))
for line in problems:
    print("  " + line)
docs = result.get("docs_blob") or {}
if not contents or not docs.get("collection_readme"):
    sys.exit("galaxy-importer: no contents or no README in the docs blob")
sys.exit(1 if problems else 0)
PY
log "passed: $(basename "$tarball"), $(du -k "$tarball" | cut -f1) KiB"
