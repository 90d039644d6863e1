#!/bin/sh
# Test PKI for msgin5g-gw labs and tests: a CA and EC P-256 certificates for the gateway,
# the M5S (m5s-sim), a second "wrong" CA, and a device. Never for production.
# Usage: make-certs.sh DIR   (does nothing for files that already exist)
set -eu
dir=${1:?usage: make-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
umask 077

ca() { # name subject
	[ -f "$1.pem" ] && return 0
	openssl ecparam -name prime256v1 -genkey -noout -out "$1.key"
	openssl req -x509 -new -key "$1.key" -sha256 -days 3650 -subj "$2" -out "$1.pem" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}
leaf() { # name cn san [ca]
	[ -f "$1.pem" ] && return 0
	openssl ecparam -name prime256v1 -genkey -noout -out "$1.key"
	openssl req -new -key "$1.key" -subj "/O=msgin5g-gw test/CN=$2" -out "$1.csr"
	printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n' "$3" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "${4:-ca}.pem" -CAkey "${4:-ca}.key" -CAcreateserial -sha256 \
		-days 825 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
	rm -f "$1.csr" "$1.ext"
}

ca ca "/O=msgin5g-gw test/CN=msgin5g-gw test CA"
ca wrong-ca "/O=somebody else/CN=unrelated CA"
leaf gw msgin5g-gw "DNS:localhost,IP:127.0.0.1"
leaf m5s m5s-sim "DNS:localhost,IP:127.0.0.1"
leaf m5s-wrongname m5s-elsewhere "DNS:m5s.invalid"
leaf device-1 sensor-cert-1 "DNS:sensor-cert-1"
# the intruder has a valid-looking certificate from a CA the gateway does not trust
leaf intruder intruder "DNS:localhost,IP:127.0.0.1" wrong-ca
chmod 0644 ./*.pem
chmod 0600 ./*.key
echo "make-certs: test PKI in $dir"
