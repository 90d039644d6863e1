#!/bin/sh
# Build msgin5g-gw out of tree in BUILDDIR (default _build) with CONFIGURE options.
# Usage: contrib/build.sh [BUILDDIR] [configure options...]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
b=${1:-_build}
[ $# -gt 0 ] && shift
case "$b" in /*) ;; *) b="$top/$b" ;; esac
cd "$top"
[ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi
mkdir -p "$b"
cd "$b"
want="$*"
if [ ! -f config.status ] || [ "$(cat .configure-args 2>/dev/null)" != "$want" ]; then
	"$top/configure" "$@" >configure.out || { cat configure.out; exit 1; }
	printf '%s' "$want" >.configure-args
fi
make -j"$(nproc)" >make.out 2>&1 || { tail -n 60 make.out; exit 1; }
echo "build: $b ($want)"
