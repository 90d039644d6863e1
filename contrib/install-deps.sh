#!/bin/sh
# Install everything msgin5g-gw needs to build and test on Debian 12 (bookworm).
# Idempotent: re-running it installs nothing new. Needs root (or sudo) for apt-get.
# Usage: contrib/install-deps.sh [--no-npm]
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)

APT_PKGS="autoconf automake libtool pkg-config make gcc clang libclang-rt-14-dev valgrind
 libosmocore-dev libsmpp34-dev libcoap3-dev libcoap3-bin libevent-dev libssl-dev openssl
 libjansson-dev libsqlite3-dev sqlite3 libmosquitto-dev mosquitto mosquitto-clients
 libnghttp2-dev nghttp2-client nghttp2-server libcurl4-openssl-dev curl libcjose-dev
 libcbor-dev libyaml-dev check ca-certificates procps iproute2 python3 python3-cryptography testssl.sh"

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo

missing=
for p in $APT_PKGS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed' ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "install-deps: apt-get install$missing"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
else
	echo "install-deps: Debian packages present"
fi

# The machine's Node (20) and npm are used; Debian's npm package is never installed over them.
if [ "${1:-}" != "--no-npm" ]; then
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
		echo "install-deps: node/npm missing: installing Debian nodejs+npm" >&2
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
	fi
	if [ ! -d "$top/contrib/node/node_modules" ] ||
	   [ "$top/contrib/node/package-lock.json" -nt "$top/contrib/node/node_modules" ]; then
		(cd "$top/contrib/node" && npm ci --no-audit --no-fund --loglevel=error && touch node_modules)
	else
		echo "install-deps: npm modules present"
	fi
fi
