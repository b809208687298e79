#!/bin/bash
# gen-certs.sh DIR - a throw-away test CA and a server certificate for the TLS
# front (stunnel4) of a fake EFS mount target, made at test time.
#
# DIR/ca.crt ca.key       self-signed CA ("efs-fuse test CA")
# DIR/server.crt server.key  signed by it, valid for the EFS names of
#     fs-12345678 in us-east-1 (exact, *.fs-..., *.efs.us-east-1...) and the
#     addresses 127.0.0.1 and 127.0.0.2.  Extra SANs: EXTRA_SANS="DNS:x,IP:y".
# Every run makes a new CA, so two runs give two CAs that do not trust each
# other (the "wrong CA" tests).  Quiet unless VERBOSE=1.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
D=$1
mkdir -p "$D"
cd "$D"
out=/dev/null
[ "${VERBOSE:-0}" = 1 ] && out=/dev/stderr
san="DNS:fs-12345678.efs.us-east-1.amazonaws.com, DNS:*.fs-12345678.efs.us-east-1.amazonaws.com"
san="$san, DNS:*.efs.us-east-1.amazonaws.com, IP:127.0.0.1, IP:127.0.0.2"
[ -n "${EXTRA_SANS:-}" ] && san="$san, $EXTRA_SANS"
umask 077
{
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout ca.key -out ca.crt -days 3650 -subj "/CN=efs-fuse test CA" \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-keyout server.key -out server.csr -subj "/CN=fs-12345678.efs.us-east-1.amazonaws.com"
cat > server.ext <<EXT
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $san
EXT
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
	-out server.crt -days 825 -extfile server.ext
openssl x509 -in server.crt -noout -subject -issuer -ext subjectAltName
} >"$out" 2>&1 || { echo "gen-certs.sh: openssl failed in $D (run with VERBOSE=1)" >&2; exit 1; }
chmod 644 ca.crt server.crt
rm -f server.csr
