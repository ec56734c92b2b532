#!/usr/bin/env bash
# Development environment of polytope.core (idempotent; `make setup`).
#
#   .venv      CPython 3.11 + requirements-dev.txt (ansible 12.3.0 / ansible-core 2.19,
#              community.docker, docker SDK, ansible-lint, molecule, ruff, ...)
#   .venv313   CPython 3.13 (or 3.12) + requirements-dev-py313.txt (newest ansible-core),
#              for sanity and units; skipped with a warning when no such Python exists
#   build/ansible_collections/polytope/core -> the checkout (ansible.cfg's collections_path)
#   build/ansible_collections/community     -> .venv's bundled community collections
#   ~/.ansible/test/cache/get_pip_*.py      offline get-pip stand-in for ansible-test
#
# Interpreters are the real ones, never pyenv shims (they break under ansible-test).
# Environment: PYTHON311, PYTHON313 override the interpreters.
set -euo pipefail

log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

repo="$(cd "$(dirname "$0")/.." && pwd -P)"
cd "$repo"

pyenv_root="${PYENV_ROOT:-}"
if [ -z "$pyenv_root" ] && command -v pyenv >/dev/null 2>&1; then
    pyenv_root="$(pyenv root 2>/dev/null || true)"
fi
[ -n "$pyenv_root" ] || pyenv_root="$HOME/.pyenv"

# real_python CANDIDATE: print the interpreter's real executable (resolves pyenv shims)
real_python() {
    local cand="$1"
    command -v "$cand" >/dev/null 2>&1 || [ -x "$cand" ] || return 1
    env -u PYTHONPATH "$cand" -c 'import os, sys; print(os.path.realpath(sys.executable))' 2>/dev/null
}

# find_python MAJOR.MINOR... : the first real interpreter of one of these versions
find_python() {
    local want cand exe ver
    for want in "$@"; do
        for cand in "$pyenv_root/versions/$want".*/bin/python"$want" "python$want" "/usr/bin/python$want"; do
            exe="$(real_python "$cand")" || continue
            case "$exe" in */shims/*) continue ;; esac
            ver="$("$exe" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" || continue
            [ "$ver" = "$want" ] && { echo "$exe"; return 0; }
        done
    done
    return 1
}

# make_venv DIR PYTHON REQUIREMENTS
make_venv() {
    local dir="$1" python="$2" req="$3" stamp want
    stamp="$dir/.polytope-requirements"
    want="$("$python" -c 'import sys; print(sys.version.split()[0])') $(sha256sum "$req" | cut -d' ' -f1)"
    if [ -x "$dir/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
            && "$dir/bin/python" -c 'import sys' 2>/dev/null; then
        return 0
    fi
    if [ -x "$dir/bin/python" ] && [ "$("$dir/bin/python" -c 'import os, sys; print(os.path.realpath(sys._base_executable))' 2>/dev/null || true)" != "$python" ]; then
        log "$dir was made from another interpreter; recreating"
        rm -rf "$dir"
    fi
    if [ ! -x "$dir/bin/python" ]; then
        log "creating $dir with $python"
        if ! "$python" -m venv "$dir" 2>/dev/null; then
            rm -rf "$dir"
            # Debian's own interpreter needs python3-venv for ensurepip
            if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
                local minor
                minor="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
                log "installing python$minor-venv"
                DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
                DEBIAN_FRONTEND=noninteractive apt-get install -y -q "python$minor-venv" >/dev/null
            fi
            "$python" -m venv "$dir" || die "cannot create a virtual environment with $python"
        fi
    fi
    log "installing $req into $dir"
    # (this machine's pip.conf names local index directories that may not exist: drop that noise)
    "$dir/bin/python" -m pip install --disable-pip-version-check -q -r "$req" 2>&1 \
        | { grep -v "^WARNING: Location 'file://.*' is ignored" || true; } \
        || die "pip install -r $req failed"
    echo "$want" >"$stamp"
}

# ---------------------------------------------------------------- Python 3.11 --
py311="${PYTHON311:+$(real_python "$PYTHON311")}"
[ -n "$py311" ] || py311="$(find_python 3.11)" || die "no CPython 3.11 found (pyenv versions/3.11.*, python3.11, /usr/bin/python3.11); set PYTHON311"
make_venv .venv "$py311" requirements-dev.txt

# ---------------------------------------------------------------- Python 3.13 --
py313="${PYTHON313:+$(real_python "$PYTHON313")}"
[ -n "$py313" ] || py313="$(find_python 3.13 3.12)" || py313=""
if [ -n "$py313" ]; then
    make_venv .venv313 "$py313" requirements-dev-py313.txt
else
    log "warning: no CPython 3.13/3.12 found: .venv313 not made, the 3.13 sanity and units runs will be skipped"
fi

# ------------------------------------------------------------ collection tree --
site="$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
mkdir -p build/ansible_collections/polytope
ln -sfn ../../.. build/ansible_collections/polytope/core
ln -sfn "$site/ansible_collections/community" build/ansible_collections/community
[ -f build/ansible_collections/polytope/core/galaxy.yml ] || die "build/ansible_collections/polytope/core does not lead to the checkout"
[ -d build/ansible_collections/community/docker ] || die "community.docker missing from $site/ansible_collections (ansible package)"

# ------------------------------------------------------ get-pip for ansible-test --
mkdir -p "$HOME/.ansible/test/cache"
for venv in .venv .venv313; do
    [ -x "$venv/bin/python" ] || continue
    reqs="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/ansible_test/_internal/python_requirements.py"
    pip_version="$(sed -n "s/^ *pip='\([0-9.]*\)',.*/\1/p" "$reqs" | head -n1)"
    [ -n "$pip_version" ] || die "cannot tell which pip version $venv's ansible-test bootstraps"
    cp scripts/get-pip-offline.py "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
done

log "ready: $(.venv/bin/ansible --version | sed -n 1p) on $(.venv/bin/python --version 2>&1)$([ -x .venv313/bin/python ] && printf '; %s on %s' "$(.venv313/bin/ansible --version | sed -n 1p)" "$(.venv313/bin/python --version 2>&1)")"
