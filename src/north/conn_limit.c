/* north: connection slots of the listener, shed oldest-lowest-rank first (conn_limit.h). */
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "conn_limit.h"

void conn_slot_set_addr(struct conn_slot *s, const struct sockaddr *sa)
{
	memset(s->ip, 0, sizeof(s->ip));
	s->family = 0;
	if (sa->sa_family == AF_INET) {
		memcpy(s->ip, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		s->family = AF_INET;
	} else if (sa->sa_family == AF_INET6) {
		memcpy(s->ip, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		s->family = AF_INET6;
	}
}

static int same_source(const struct conn_slot *a, const struct conn_slot *b)
{
	return a->family == b->family && memcmp(a->ip, b->ip, sizeof(a->ip)) == 0;
}

/* the oldest slot of the lowest rank below TRUSTED (of s's source if `source`), or NULL */
static struct conn_slot *pick(const struct conn_limit *l, const struct conn_slot *s, int source)
{
	struct conn_slot *best = NULL;

	for (struct conn_slot *x = l->head; x; x = x->next) {
		if (x->rank >= CONN_RANK_TRUSTED || (source && !same_source(x, s)))
			continue;
		if (!best || x->rank < best->rank)
			best = x;
		if (best->rank == CONN_RANK_NEW)
			break; /* the oldest of the lowest rank there is */
	}
	return best;
}

enum conn_verdict conn_limit_admit(const struct conn_limit *l, const struct conn_slot *s,
				   struct conn_slot **victim, size_t *same)
{
	size_t n = 0;

	for (const struct conn_slot *x = l->head; x; x = x->next)
		if (same_source(x, s))
			n++;
	*same = n;
	*victim = NULL;
	if (l->max_per_source && n >= l->max_per_source)
		*victim = pick(l, s, 1);
	else if (l->max_conns && l->n >= l->max_conns)
		*victim = pick(l, s, 0);
	else
		return CONN_ADMIT;
	return *victim ? CONN_SHED : CONN_REFUSE;
}

void conn_limit_add(struct conn_limit *l, struct conn_slot *s)
{
	s->next = NULL;
	s->prev = l->tail;
	if (l->tail)
		l->tail->next = s;
	else
		l->head = s;
	l->tail = s;
	l->n++;
}

void conn_limit_remove(struct conn_limit *l, struct conn_slot *s)
{
	if (!s->prev && l->head != s)
		return; /* not linked */
	if (s->prev)
		s->prev->next = s->next;
	else
		l->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		l->tail = s->prev;
	s->prev = s->next = NULL;
	l->n--;
}
