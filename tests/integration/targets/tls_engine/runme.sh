#!/usr/bin/env bash
# An engine that requires TLS and a client certificate (dockerd --tlsverify on 10.97.0.11:2376, in a network
# namespace of its own, made by ../template_hosts/engines.sh), with certificates made here (certs.sh).
# The play runs with REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE set, as on these machines.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
engines="$here/../template_hosts/engines.sh"
export ENGINES_PREFIX=pt-tls- ENGINES_BRIDGE=br-pt-tls ENGINES_SUBNET=10.97.0 ENGINES_TCP=2376
certs="$(mktemp -d /tmp/pt-tls-XXXXXX)"
log="$certs/play.log"
export ENGINES_TLS_DIR="$certs"
trap '"$engines" down 1 || true; rm -rf "$certs"' EXIT
"$here/certs.sh" "$certs" 10.97.0.11
"$engines" up 1
export REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt CURL_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
ansible-playbook -i "$here/inventory.yml" "$here/test.yml" -e "tls_certs=$certs" -v "$@" 2>&1 | tee "$log"

# No key material in the output: neither a PEM key header nor any line of the keys' bodies.
grep -hv -- '-----' "$certs"/*key.pem | sort -u >"$certs/key-lines"
if grep -q 'PRIVATE KEY' "$log" || grep -qF -f "$certs/key-lines" "$log"; then
    echo "FAILED: the play's output shows key material" >&2
    exit 1
fi
if grep -q 'Traceback' "$log"; then
    echo "FAILED: the play's output shows a traceback" >&2
    exit 1
fi
echo "no key material and no traceback in the output"
