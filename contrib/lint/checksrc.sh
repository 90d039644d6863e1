#!/bin/sh
# Banned functions (curl's CODE_STYLE habit): unbounded copies, unchecked conversions,
# non-reentrant calls, and abort/exit after startup (only src/gw/main.c may exit).
set -u
top=${1:-${top_srcdir:-$(dirname "$0")/../..}}
cd "$top" || exit 2
out=$(grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|atol|atoll|strtok|localtime|gmtime|ctime|asctime|strerror_r|tmpnam|mktemp)[[:space:]]*\(' \
	$(find src tests/unit tests/fuzz tests/integration -name '*.c' 2>/dev/null) 2>/dev/null |
	grep -v 'checksrc: allow')
out2=$(grep -nE '\b(abort|exit)[[:space:]]*\(' $(find src -name '*.c' ! -path 'src/gw/main.c') 2>/dev/null |
	grep -v 'checksrc: allow')
if [ -n "$out$out2" ]; then
	printf '%s\n' "$out" "$out2" | sed '/^$/d; s/$/  <- banned (see contrib\/lint\/checksrc.sh)/'
	exit 1
fi
echo "checksrc: no banned calls"
