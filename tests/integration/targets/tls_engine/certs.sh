#!/usr/bin/env bash
# Certificates for the TLS engine test, made with openssl (3.x) into DIR:
#   ca.pem ca-key.pem                      the CA the engine trusts and that signed its certificate
#   server-cert.pem server-key.pem         the engine's, for ADDRESS (and 127.0.0.1)
#   cert.pem key.pem                       a client certificate signed by ca.pem
#   other-ca.pem other-cert.pem other-key.pem   a second CA, and a client certificate it signed
#   expired-cert.pem expired-key.pem       a client certificate of ca.pem that expired in 2020
#
#   certs.sh DIR ADDRESS
set -euo pipefail
dir=${1:?directory}
address=${2:?engine address}
mkdir -p "$dir"
cd "$dir"
umask 077
quiet() { "$@" 2>/dev/null >/dev/null; }

ca() {  # ca NAME
    quiet openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1-key.pem" -out "$1.pem" -days 2 -subj "/CN=polytope test $1"
}
signed() {  # signed CA NAME EXTENSIONS
    quiet openssl req -newkey rsa:2048 -nodes -keyout "$2-key.pem" -out "$2.csr" -subj "/CN=polytope test $2"
    printf '%s\n' "$3" >"$2.ext"
    quiet openssl x509 -req -in "$2.csr" -CA "$1.pem" -CAkey "$1-key.pem" -CAcreateserial -days 2 -extfile "$2.ext" -out "$2-cert.pem"
}

ca ca
signed ca server "subjectAltName=IP:$address,IP:127.0.0.1
extendedKeyUsage=serverAuth"
signed ca client "extendedKeyUsage=clientAuth"
mv client-cert.pem cert.pem
mv client-key.pem key.pem
ca other-ca
signed other-ca other "extendedKeyUsage=clientAuth"

# openssl x509 -days cannot go back in time; `openssl ca` takes any start and end date
mkdir -p expired-ca
: >expired-ca/index.txt
cat >expired-ca/openssl.cnf <<CNF
[ca]
default_ca = test
[test]
database = $dir/expired-ca/index.txt
new_certs_dir = $dir/expired-ca
serial = $dir/expired-ca/serial
default_md = sha256
policy = any
x509_extensions = client
[any]
commonName = supplied
[client]
extendedKeyUsage = clientAuth
CNF
echo 01 >expired-ca/serial
quiet openssl req -newkey rsa:2048 -nodes -keyout expired-key.pem -out expired.csr -subj "/CN=polytope test expired"
quiet openssl ca -batch -config expired-ca/openssl.cnf -cert ca.pem -keyfile ca-key.pem -in expired.csr \
    -startdate 20200101000000Z -enddate 20200102000000Z -out expired-cert.pem -notext
rm -f ./*.csr ./*.ext ./*.srl
chmod 0644 ./*.pem
chmod 0600 ./*key.pem
