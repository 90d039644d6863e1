#!/bin/sh
# Usage: bench/token-bench.sh [BUILDDIR] (default _build): CPU time of the OAuth2 access-token
# check (ES256 and RS256 tokens minted by contrib/node/nrf-token.js), first and repeated use.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
b=${1:-$top/_build}
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
NRF="node $top/contrib/node/nrf-token.js"
$NRF keygen "$d/nrf"
$NRF mint --keys "$d/nrf/nrf.private.jwks.json" --aud MSGG --exp 3600 >"$d/es.tok"
$NRF mint --keys "$d/nrf/nrf.private.jwks.json" --aud MSGG --exp 3600 --alg RS256 >"$d/rs.tok"
for t in es rs; do
	"$b/bench/token-bench" "$d/nrf/nrf.jwks.json" "$d/$t.tok" "${N:-10000}" >"$d/$t.out"
	cat "$d/$t.out"
	# the CPU column: first use and repeated use of the same token (no peer, no rate)
	sed -n "s/.*: \([0-9.]*\) us CPU per check on first use, \([0-9.]*\) us repeated.*/BENCH path=token-$t-first-use gw=- peer=- cpu_us=\1 p50=- p99=-\nBENCH path=token-$t-repeated gw=- peer=- cpu_us=\2 p50=- p99=-/p" "$d/$t.out"
done
