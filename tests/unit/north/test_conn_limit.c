/* Unit tests of the listener's slot bookkeeping (src/north/conn_limit.c): who is shed for a
 * newcomer at max_conns and max_per_source, and when a newcomer is refused. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include <check.h>

#include "conn_limit.h"

static struct conn_slot slots[8];

static void at(struct conn_slot *s, const char *ip, enum conn_rank rank)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };

	inet_pton(AF_INET, ip, &sin.sin_addr);
	memset(s, 0, sizeof(*s));
	conn_slot_set_addr(s, (struct sockaddr *)&sin);
	s->rank = rank;
	s->owner = s;
}

/* the connections: 0 TRUSTED .1, 1 TLS .2, 2 NEW .2, 3 NEW .3, 4 TLS .3 (oldest first) */
static void fill(struct conn_limit *l)
{
	static const struct {
		const char *ip;
		enum conn_rank rank;
	} t[] = {
		{ "10.0.0.1", CONN_RANK_TRUSTED }, { "10.0.0.2", CONN_RANK_TLS },
		{ "10.0.0.2", CONN_RANK_NEW },     { "10.0.0.3", CONN_RANK_NEW },
		{ "10.0.0.3", CONN_RANK_TLS },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		at(&slots[i], t[i].ip, t[i].rank);
		conn_limit_add(l, &slots[i]);
	}
}

START_TEST(admit_below_caps)
{
	struct conn_limit l = { .max_conns = 10, .max_per_source = 3 };
	struct conn_slot n, *v = &n;
	size_t same = 99;

	fill(&l);
	at(&n, "10.0.0.2", CONN_RANK_NEW);
	ck_assert_int_eq(conn_limit_admit(&l, &n, &v, &same), CONN_ADMIT);
	ck_assert_ptr_null(v);
	ck_assert_uint_eq(same, 2);
	ck_assert_uint_eq(l.n, 5);
}
END_TEST

START_TEST(global_cap_sheds_oldest_new_first)
{
	struct conn_limit l = { .max_conns = 5, .max_per_source = 0 };
	struct conn_slot n, *v;
	size_t same;

	fill(&l);
	at(&n, "10.0.0.9", CONN_RANK_NEW);
	/* the oldest NEW (2), although 1 (TLS) is older */
	ck_assert_int_eq(conn_limit_admit(&l, &n, &v, &same), CONN_SHED);
	ck_assert_ptr_eq(v, &slots[2]);
	conn_limit_remove(&l, v);
	conn_limit_add(&l, &n);
	ck_assert_int_eq(conn_limit_admit(&l, &n, &v, &same), CONN_SHED);
	ck_assert_ptr_eq(v, &slots[3]);
	conn_limit_remove(&l, v);
	/* below the cap again: room */
	ck_assert_int_eq(conn_limit_admit(&l, &n, &v, &same), CONN_ADMIT);
}
END_TEST

START_TEST(tls_shed_after_new)
{
	struct conn_limit l = { .max_conns = 3, .max_per_source = 0 };
	struct conn_slot n, *v;
	size_t same;

	at(&slots[0], "10.0.0.1", CONN_RANK_TRUSTED);
	at(&slots[1], "10.0.0.2", CONN_RANK_TLS);
	at(&slots[2], "10.0.0.3", CONN_RANK_TLS);
	for (int i = 0; i < 3; i++)
		conn_limit_add(&l, &slots[i]);
	at(&n, "10.0.0.4", CONN_RANK_NEW);
	ck_assert_int_eq(conn_limit_admit(&l, &n, &v, &same), CONN_SHED);
	ck_assert_ptr_eq(v, &slots[1]); /* the oldest TLS */
}
END_TEST

START_TEST(cert_shed_after_tls)
{
	struct conn_limit l = { .max_conns = 3, .max_per_source = 0 };
	struct conn_slot n, *v;
	size_t same;

	at(&slots[0], "10.0.0.1", CONN_RANK_CERT);
	at(&slots[1], "10.0.0.2", CONN_RANK_TLS);
	at(&slots[2], "10.0.0.3", CONN_RANK_CERT);
	for (int i = 0; i < 3; i++)
		conn_limit_add(&l, &slots[i]);
	at(&n, "10.0.0.4", CONN_RANK_NEW);
	ck_assert_int_eq(conn_limit_admit(&l, &n, &v, &same), CONN_SHED);
	ck_assert_ptr_eq(v, &slots[1]); /* TLS before CERT, although CERT 0 is older */
	conn_limit_remove(&l, v);
	conn_limit_add(&l, &n);
	n.rank = CONN_RANK_TRUSTED;
	ck_assert_int_eq(conn_limit_admit(&l, &n, &v, &same), CONN_SHED);
	ck_assert_ptr_eq(v, &slots[0]); /* then the oldest CERT */
}
END_TEST

START_TEST(all_trusted_refuses)
{
	struct conn_limit l = { .max_conns = 2, .max_per_source = 0 };
	struct conn_slot n, *v;
	size_t same;

	at(&slots[0], "10.0.0.1", CONN_RANK_TRUSTED);
	at(&slots[1], "10.0.0.2", CONN_RANK_TRUSTED);
	conn_limit_add(&l, &slots[0]);
	conn_limit_add(&l, &slots[1]);
	at(&n, "10.0.0.3", CONN_RANK_NEW);
	ck_assert_int_eq(conn_limit_admit(&l, &n, &v, &same), CONN_REFUSE);
	ck_assert_ptr_null(v);
}
END_TEST

START_TEST(per_source_sheds_own_only)
{
	struct conn_limit l = { .max_conns = 100, .max_per_source = 2 };
	struct conn_slot n, *v;
	size_t same;

	fill(&l);
	/* .3 holds 2: its oldest NEW (3) goes, never another address's */
	at(&n, "10.0.0.3", CONN_RANK_NEW);
	ck_assert_int_eq(conn_limit_admit(&l, &n, &v, &same), CONN_SHED);
	ck_assert_ptr_eq(v, &slots[3]);
	ck_assert_uint_eq(same, 2);
	/* .1 at a cap of 1 holds only a TRUSTED one: refused */
	l.max_per_source = 1;
	at(&n, "10.0.0.1", CONN_RANK_NEW);
	ck_assert_int_eq(conn_limit_admit(&l, &n, &v, &same), CONN_REFUSE);
}
END_TEST

START_TEST(remove_keeps_order)
{
	struct conn_limit l = { 0 };

	fill(&l);
	conn_limit_remove(&l, &slots[0]);
	conn_limit_remove(&l, &slots[4]);
	conn_limit_remove(&l, &slots[2]);
	conn_limit_remove(&l, &slots[2]); /* not linked: no-op */
	ck_assert_uint_eq(l.n, 2);
	ck_assert_ptr_eq(l.head, &slots[1]);
	ck_assert_ptr_eq(l.head->next, &slots[3]);
	ck_assert_ptr_eq(l.tail, &slots[3]);
	ck_assert_ptr_null(slots[3].next);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("conn_limit");
	TCase *tc = tcase_create("conn_limit");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, admit_below_caps);
	tcase_add_test(tc, global_cap_sheds_oldest_new_first);
	tcase_add_test(tc, tls_shed_after_new);
	tcase_add_test(tc, cert_shed_after_tls);
	tcase_add_test(tc, all_trusted_refuses);
	tcase_add_test(tc, per_source_sheds_own_only);
	tcase_add_test(tc, remove_keeps_order);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
