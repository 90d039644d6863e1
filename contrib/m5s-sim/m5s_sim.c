/* m5s-sim: the reference MSGin5G Server (TS 29.538 msgs-msgdelivery) for tests, demos and
 * labs, built on the gateway's own north HTTP server and codec. Two subcommands:
 *   serve  records what it receives (JSON lines) and answers as a script says
 *   push   POSTs L3G/N3G deliveries (or any body) to a gateway with libcurl
 * See contrib/m5s-sim/README.md.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <talloc.h>

#include "m5s_sim.h"

static const char usage_text[] =
	"usage: m5s-sim serve --listen ADDR:PORT (--cert F --key F [--client-ca F] | --insecure)\n"
	"                     --record FILE.jsonl [--script FILE] [--token SECRET] [--port-file F]\n"
	"                     [--max-payload BYTES]\n"
	"       m5s-sim push --url URL [--cacert F] [--cert F --key F] [--insecure]\n"
	"                    [--http1 | --http2] [--token T]\n"
	"                    (--body JSON | --body-file F |\n"
	"                     (--l3g | --n3g) --from TYPE:ADDR --to TYPE:ADDR --msg-id ID\n"
	"                     [--payload TEXT] [--app-id ID] [--report-required])\n"
	"                    [--count N [--concurrency C]]\n"
	"       m5s-sim --help\n"
	"\n"
	"serve: a MSGin5G Server (msgs-msgdelivery: deliver-ue-message, deliver-as-message,\n"
	"  deliver-report). PORT 0 picks a free port (written to --port-file once listening).\n"
	"  Each request is appended to --record as one JSON line. --script FILE (re-read on\n"
	"  SIGHUP) holds rules \"MATCH... ACTION [times=N]\": MATCH is *, path=GLOB or\n"
	"  msgId=GLOB; ACTION is ok, stored, failed[:CAUSE], status=CODE[:RETRY_AFTER],\n"
	"  delay=MS or drop. Without a matching rule: 200 MessageDeliveryAck. --max-payload\n"
	"  raises the payload limit (default 8192 bytes) for large-message labs.\n"
	"push: POST one delivery (prints \"HTTP <status>\" and the answer; exit 0 on 2xx,\n"
	"  3 otherwise) or, with --count, N deliveries with msgIds ID-0..ID-(N-1), C at a time.\n"
	"\n"
	"exit status: 0 ok, 1 usage, 2 runtime failure, 3 push answered other than 2xx\n";

bool sim_parse_ll(const char *s, long long min, long long max, long long *out)
{
	char *end = NULL;
	long long v;

	if (!s || !*s || *s == ' ' || *s == '+')
		return false;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || !end || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

int sim_usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("m5s-sim: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see m5s-sim --help)\n", stderr);
	return SIM_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	void *root = NULL;
	int rc;

	if (argc < 2) {
		fputs(usage_text, stderr);
		rc = SIM_EXIT_USAGE;
		goto out;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage_text, stdout);
		rc = SIM_EXIT_OK;
		goto out;
	}
	if (!(root = talloc_named_const(NULL, 0, "m5s-sim"))) {
		fputs("m5s-sim: out of memory\n", stderr);
		rc = SIM_EXIT_RUNTIME;
		goto out;
	}
	if (strcmp(argv[1], "serve") == 0)
		rc = sim_serve_main(root, argc - 1, argv + 1);
	else if (strcmp(argv[1], "push") == 0)
		rc = sim_push_main(root, argc - 1, argv + 1);
	else
		rc = sim_usage_error("unknown command '%s'", argv[1]);
out:
	talloc_free(root);
	return rc;
}
