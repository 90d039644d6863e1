#!/bin/sh
# The codec's bodies against the 3GPP OpenAPI schemas, with a real validator
# (contrib/node/oas-validate.js):
#  1. every body type the codec emits must be valid;
#  2. every decode case that test_codec asserts the decoder refuses (codec_emit --malformed)
#     must be refused by the validator as well;
#  3. the cases the decoder refuses by its own rules or limits, or accepts as extensions
#     (codec_emit --schema-ok), must be valid for the validator: they document where the
#     gateway is stricter than the schema.
set -u
emit="$top_builddir/tests/unit/core/codec_emit"
validate="$top_srcdir/contrib/node/oas-validate.js"

if [ ! -d "$OPENAPI_DIR" ]; then
	echo "SKIP: no OpenAPI directory ($OPENAPI_DIR)"
	exit 77
fi
if [ -z "$NODE" ] || [ ! -d "$top_srcdir/contrib/node/node_modules" ]; then
	echo "SKIP: node or contrib/node/node_modules missing"
	exit 77
fi

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0

# run MODE WANT: feed codec_emit MODE to the validator; WANT is ok or invalid for every line
run() {
	mode=$1 want=$2
	"$emit" $mode >"$tmp/in" || { echo "FAIL: codec_emit $mode"; fail=1; return; }
	lines=$(grep -c . "$tmp/in")
	"$NODE" "$validate" "$OPENAPI_DIR" --lines <"$tmp/in" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -gt 1 ]; then
		echo "FAIL: validator error ($mode):"
		cat "$tmp/err"
		fail=1
		return
	fi
	got=$(grep -c "^$want " "$tmp/out")
	echo "codec_emit ${mode:-(bodies)}: $got/$lines $want"
	if [ "$lines" -eq 0 ] || [ "$got" -ne "$lines" ]; then
		echo "FAIL: expected every line $want:"
		grep -v "^$want " "$tmp/out" | cut -c1-300
		grep -v "^$want " "$tmp/out" | sed -n 's/^[a-z]* line \([0-9]*\).*/\1/p' |
			while read -r n; do
				sed -n "${n}p" "$tmp/in" | cut -c1-300
			done
		fail=1
	fi
}

# where MODE: the validator's first error must name the member that our decoder names in
# diag.where ("PATH must have required property 'X'" names PATH/X; not JSON names "").
where() {
	"$emit" --malformed >"$tmp/in" && "$emit" --malformed-where >"$tmp/where" ||
		{ echo "FAIL: codec_emit --malformed-where"; fail=1; return; }
	"$NODE" "$validate" "$OPENAPI_DIR" --lines <"$tmp/in" >"$tmp/out" 2>"$tmp/err"
	if ! paste "$tmp/out" "$tmp/where" | awk -F '\t' '
		{
			w = substr($2, 2); p = ""
			if ($1 !~ /^invalid line [0-9]+: not JSON/) {
				s = $1; sub(/^[^:]*: /, "", s); sub(/;.*/, "", s)
				path = s; sub(/ .*/, "", path)
				msg = s; sub(/^[^ ]* /, "", msg)
				if (path == "/")
					path = ""
				p = path
				if (msg ~ /^must have required property/ && match(msg, /\047[^\047]*\047/))
					p = path "/" substr(msg, RSTART + 1, RLENGTH - 2)
			}
			if (p != w) {
				printf "FAIL: %s: validator names \"%s\", decoder \"%s\"\n", $3, p, w
				bad = 1
			}
			n++
		}
		END { printf "validator and decoder name the same member: %d cases\n", n; exit bad }'
	then
		fail=1
	fi
}

run "" ok
run --malformed invalid
run --schema-ok ok
where
exit $fail
