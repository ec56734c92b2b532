#!/usr/bin/env bash
# .venv-docs: the tools of the docs site, the Galaxy import check and the execution-environment check
# (requirements-docs.txt), on the interpreter .venv was made from (`make setup`). Idempotent: a stamp of the
# interpreter's version and the requirements' digest skips the install when nothing changed.
#
#   scripts/docs-venv.sh        prints nothing when the venv is up to date
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd -P)"
cd "$repo"
venv=.venv-docs
req=requirements-docs.txt
log() { printf '[docs-venv] %s\n' "$*" >&2; }

[ -x .venv/bin/python ] || { log "ERROR: no .venv; run 'make setup'"; exit 1; }
python="$(.venv/bin/python -c 'import os, sys; print(os.path.realpath(sys._base_executable))')"
want="$("$python" -c 'import sys; print(sys.version.split()[0])') $(sha256sum "$req" | cut -d' ' -f1)"
stamp="$venv/.polytope-requirements"
if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
rm -rf "$venv"
log "creating $venv with $python and installing $req"
"$python" -m venv "$venv"
# (this machine's pip.conf names local index directories that may not exist: drop that noise)
"$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req" 2>&1 \
    | { grep -v "^WARNING: Location 'file://.*' is ignored" || true; } \
    || { log "ERROR: pip install -r $req failed"; exit 1; }
echo "$want" >"$stamp"
