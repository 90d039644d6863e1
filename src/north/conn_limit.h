/* north: who gets a connection slot on the listener when it is full. Private to src/north.
 *
 * Pure bookkeeping, no I/O: the server keeps one struct conn_slot per connection in a
 * struct conn_limit (oldest first) and asks conn_limit_admit() before it keeps a new one.
 *
 * Ranks (what a connection has shown so far):
 *   CONN_RANK_NEW     accepted, TLS handshake not done (or plain and no request yet)
 *   CONN_RANK_TLS     TLS done without a verified client certificate
 *   CONN_RANK_CERT    TLS done with a verified client certificate (from client_ca: which
 *                     may sign more than M5S certificates), not yet answered < 400
 *   CONN_RANK_TRUSTED a request was answered < 400: the caller passed every check
 * When the listener is at max_conns, or the new connection's source address at
 * max_per_source, the oldest connection of the lowest rank below TRUSTED is shed to make
 * room (of that source for the per-source cap); if every candidate is TRUSTED the new
 * connection is refused. So clients that hold slots with slow or idle handshakes can
 * never keep an authenticated M5S out: each new arrival pushes the oldest of them out.
 */
#ifndef MGW_NORTH_CONN_LIMIT_H
#define MGW_NORTH_CONN_LIMIT_H

#include <stddef.h>
#include <stdint.h>

struct sockaddr;

enum conn_rank {
	CONN_RANK_NEW,
	CONN_RANK_TLS,
	CONN_RANK_CERT,
	CONN_RANK_TRUSTED,
};

struct conn_slot {
	struct conn_slot *prev, *next; /* oldest first */
	uint8_t ip[16];                /* IPv4 in the first 4 bytes */
	uint8_t family;                /* AF_INET, AF_INET6, or 0 (unknown) */
	enum conn_rank rank;
	void *owner;                   /* the connection */
};

struct conn_limit {
	struct conn_slot *head, *tail;
	size_t n;
	size_t max_conns, max_per_source;
};

enum conn_verdict {
	CONN_ADMIT,    /* room: take it */
	CONN_SHED,     /* take it after closing *victim */
	CONN_REFUSE,   /* full of TRUSTED connections: close the new one */
};

/* Fill the source address of a slot from an accepted peer address. */
void conn_slot_set_addr(struct conn_slot *s, const struct sockaddr *sa);
/* Decide about a new connection from s's address (s is not linked yet). *victim is set
 * for CONN_SHED. *same is set to the connections of that source already held. */
enum conn_verdict conn_limit_admit(const struct conn_limit *l, const struct conn_slot *s,
				   struct conn_slot **victim, size_t *same);
/* Link s as the newest / unlink it (NULL-safe for unlinked slots). */
void conn_limit_add(struct conn_limit *l, struct conn_slot *s);
void conn_limit_remove(struct conn_limit *l, struct conn_slot *s);

#endif
