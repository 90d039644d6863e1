#!/bin/sh
# Layer rules of shared/docs/architecture.md, enforced: which include/mgw/*.h each folder of
# src/ may include, and no reaching into another layer's private headers ("../").
# Usage: check-includes.sh [SRCDIR]   (exit 0 clean, 1 with one line per violation)
set -u
top=${1:-${top_srcdir:-$(dirname "$0")/../..}}
cd "$top" || exit 2

# folder            allowed include/mgw headers
rules='
src/store           err log store backoff
src/security        err log addr msg cfg codec store security cose jose
src/core            err log addr msg cfg codec codec_cbor store security adapter router core fsm jose tls_policy backoff
src/adapter         err log addr msg cfg codec codec_cbor adapter core security fsm adapter_testdev adapter_coap adapter_sms adapter_mqtt tls_policy
src/north           err log addr msg cfg codec core security store north fsm tls_policy backoff
src/gw              *
'

bad=0
for f in $(find src -name '*.c' -o -name '*.h' | sort); do
	dir=$(dirname "$f")
	allowed=
	best=
	# the longest folder prefix with a rule wins
	while read -r folder list; do
		[ -n "$folder" ] || continue
		case "$dir/" in
		"$folder"/*)
			if [ ${#folder} -gt ${#best} ]; then
				best=$folder
				allowed=$list
			fi
			;;
		esac
	done <<EOR
$rules
EOR
	[ -n "$best" ] || { echo "$f: folder has no layer rule in $0"; bad=1; continue; }
	grep -n '^[[:space:]]*#[[:space:]]*include' "$f" | while IFS= read -r line; do
		lineno=${line%%:*}
		inc=$(printf '%s' "$line" | sed -n 's/.*#[[:space:]]*include[[:space:]]*[<"]\([^>"]*\)[>"].*/\1/p')
		case "$inc" in
		mgw/*.h)
			h=$(basename "$inc" .h)
			[ "$allowed" = "*" ] && continue
			ok=0
			for a in $allowed; do [ "$a" = "$h" ] && ok=1; done
			[ $ok -eq 1 ] || echo "$f:$lineno: $best may not include <$inc> (layer rule)"
			;;
		../*|*/../*)
			echo "$f:$lineno: \"$inc\" reaches into another folder: use include/mgw/"
			;;
		esac
	done
done >"${TMPDIR:-/tmp}/check-includes.$$"
# adapters never include each other's folders
for a in src/adapter/*/; do
	[ -d "$a" ] || continue
	name=$(basename "$a")
	grep -rn "adapter/[a-z]*/" "$a" 2>/dev/null | grep -v "adapter/$name/" |
		sed "s/\$/ (adapters must not include each other)/"
done >>"${TMPDIR:-/tmp}/check-includes.$$"
# one lookup door (issue 13): adapters, the core and north ask security (mgw_security_identify,
# _psk, _device), never the registry itself
grep -rnE '\<(mgw_security_registry|mgw_registry_by_cred|mgw_registry_by_ue|mgw_registry_at)[[:space:]]*\(' \
	src/adapter src/core src/north 2>/dev/null |
	sed "s/\$/ (registry lookups go through security: mgw_security_identify\/_psk\/_device)/" \
	>>"${TMPDIR:-/tmp}/check-includes.$$"
if [ -s "${TMPDIR:-/tmp}/check-includes.$$" ]; then
	cat "${TMPDIR:-/tmp}/check-includes.$$"
	bad=1
fi
rm -f "${TMPDIR:-/tmp}/check-includes.$$"
[ $bad -eq 0 ] && echo "check-includes: layer rules hold ($(find src -name '*.[ch]' | wc -l) files)"
exit $bad
