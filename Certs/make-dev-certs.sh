#!/bin/sh
# Makes a local development CA and a server certificate for localhost,
# 127.0.0.1 and ::1, in Certs/out/. Idempotent: an existing certificate that
# is valid for at least 30 more days is kept. Keys never leave this machine
# (Certs/out/ is git-ignored).
set -eu
cd "$(dirname "$0")"
# SAMROM_CERTS_OUT lets the tests make their own CA in a temporary directory.
out=${SAMROM_CERTS_OUT:-out}
mkdir -p "$out"
chmod 700 "$out"

if [ -f "$out/server.crt" ] && [ -f "$out/server.key" ] && \
   openssl x509 -in "$out/server.crt" -noout -checkend 2592000 >/dev/null 2>&1; then
    echo "Certs: development certificate in Certs/out is still valid."
    exit 0
fi

umask 077
# The CA: P-256, 5 years, path length 0 (it signs server certificates only).
if ! [ -f "$out/ca.crt" ] || ! openssl x509 -in "$out/ca.crt" -noout -checkend 2592000 >/dev/null 2>&1; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$out/ca.key" -out "$out/ca.crt" -days 1825 \
        -subj "/O=Samrom development/CN=Samrom local development CA" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        2>/dev/null
fi

# The server certificate: 397 days (the most browsers accept).
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$out/server.key" -out "$out/server.csr" -subj "/CN=localhost" 2>/dev/null
cat > "$out/server.ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
EXT
openssl x509 -req -in "$out/server.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
    -out "$out/server.crt" -days 397 -extfile "$out/server.ext" 2>/dev/null
rm -f "$out/server.csr" "$out/server.ext"
chmod 600 "$out"/*.key
echo "Certs: made Certs/out/server.crt (trust Certs/out/ca.crt in your browser to avoid the warning)."
