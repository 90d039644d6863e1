#!/bin/sh
# The README's run command: install what is missing (Debian 12, needs root), build, make the
# test PKI on first run, and start the gateway in the foreground on contrib/example/gw.yaml.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh contrib/install-deps.sh
sh contrib/build.sh _build
ex="$top/contrib/example"
mkdir -p "$ex/run"
sh contrib/make-certs.sh "$ex/run/certs"
"$top/_build/msgin5g-gw" -c "$ex/gw.yaml" -t
echo "run-example: starting msgin5g-gw (Ctrl-C stops it)"
exec "$top/_build/msgin5g-gw" -c "$ex/gw.yaml"
