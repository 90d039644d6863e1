/* Unit tests: SMPP delivery receipt text parser, state mapping, message id matching
 * (src/adapter/sms/sms_dlr.c). */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include <mgw/err.h>
#include <mgw/log.h>

#include "sms_dlr.h"

static int parse(const char *t, struct sms_dlr *d)
{
	return sms_dlr_parse(t, strlen(t), d);
}

START_TEST(appendix_b)
{
	struct sms_dlr d;
	bool delivered = false;

	ck_assert_int_eq(parse("id:0123456789 sub:001 dlvrd:001 submit date:2611282250 done "
			       "date:2611282251 stat:DELIVRD err:000 text:hello id:999",
			       &d),
			 MGW_OK);
	ck_assert_str_eq(d.id, "0123456789");
	ck_assert_int_eq(d.sub, 1);
	ck_assert_int_eq(d.dlvrd, 1);
	ck_assert_str_eq(d.stat, "DELIVRD");
	ck_assert_str_eq(d.err, "000");
	ck_assert_int_eq(d.state, SMS_DLR_DELIVERED);
	ck_assert(sms_dlr_final(d.state, &delivered));
	ck_assert(delivered);
}
END_TEST

/* keys in any case and order, seconds in the dates, junk words, extra spaces */
START_TEST(tolerant)
{
	struct sms_dlr d;
	bool delivered = true;

	ck_assert_int_eq(parse("junk words  Stat: undeliv  Id:1A2B  Err:0b1 submit "
			       "date:261128225012 Text: id:zzz",
			       &d),
			 MGW_OK);
	ck_assert_str_eq(d.id, "1A2B");
	ck_assert_str_eq(d.stat, "UNDELIV");
	ck_assert_str_eq(d.err, "0b1");
	ck_assert_int_eq(d.state, SMS_DLR_UNDELIVERABLE);
	ck_assert(sms_dlr_final(d.state, &delivered));
	ck_assert(!delivered);
	/* states that are not final, and an unknown one */
	ck_assert_int_eq(parse("id:7 stat:ENROUTE", &d), MGW_OK);
	ck_assert(!sms_dlr_final(d.state, NULL));
	ck_assert_int_eq(parse("id:7 stat:ACCEPTD", &d), MGW_OK);
	ck_assert(!sms_dlr_final(d.state, NULL));
	ck_assert_int_eq(parse("id:7 stat:WEIRD", &d), MGW_OK);
	ck_assert_int_eq(d.state, SMS_DLR_UNKNOWN);
	ck_assert(!sms_dlr_final(d.state, NULL));
	ck_assert_int_eq(parse("id:7 stat:EXPIRED", &d), MGW_OK);
	ck_assert(sms_dlr_final(d.state, &delivered));
	ck_assert(!delivered);
}
END_TEST

START_TEST(refused)
{
	struct sms_dlr d;
	char big[300];

	ck_assert_int_eq(parse("stat:DELIVRD err:000", &d), MGW_E_MALFORMED);
	ck_assert_int_eq(parse("id:", &d), MGW_E_MALFORMED);
	ck_assert_int_eq(parse("", &d), MGW_E_MALFORMED);
	ck_assert_int_eq(sms_dlr_parse(NULL, 0, &d), MGW_E_MALFORMED);
	ck_assert_int_eq(sms_dlr_parse("id:1", 4, NULL), MGW_E_INVAL);
	/* an id longer than SMS_DLR_ID_MAX is cut, not overrun */
	memset(big, 'x', sizeof(big));
	memcpy(big, "id:", 3);
	ck_assert_int_eq(sms_dlr_parse(big, sizeof(big), &d), MGW_OK);
	ck_assert_uint_eq(strlen(d.id), SMS_DLR_ID_MAX);
	/* not NUL-terminated input: only len bytes are read */
	ck_assert_int_eq(sms_dlr_parse("id:12345", 5, &d), MGW_OK);
	ck_assert_str_eq(d.id, "12");
}
END_TEST

START_TEST(tlv_and_ids)
{
	ck_assert_int_eq(sms_dlr_state_of_tlv(2), SMS_DLR_DELIVERED);
	ck_assert_int_eq(sms_dlr_state_of_tlv(5), SMS_DLR_UNDELIVERABLE);
	ck_assert_int_eq(sms_dlr_state_of_tlv(8), SMS_DLR_REJECTED);
	ck_assert_int_eq(sms_dlr_state_of_tlv(0), SMS_DLR_UNKNOWN);
	ck_assert_int_eq(sms_dlr_state_of_tlv(200), SMS_DLR_UNKNOWN);
	ck_assert_str_eq(sms_dlr_state_name(SMS_DLR_DELIVERED), "DELIVRD");
	/* the same message, printed the other way by the receipt */
	ck_assert(sms_dlr_id_match("1A2B", "6699"));
	ck_assert(sms_dlr_id_match("6699", "1a2b"));
	ck_assert(sms_dlr_id_match("0042", "42"));
	ck_assert(sms_dlr_id_match("m1", "M1"));
	ck_assert(!sms_dlr_id_match("m1", "m2"));
	ck_assert(!sms_dlr_id_match("", ""));
	ck_assert(!sms_dlr_id_match("99999999999999999999999", "1"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sms_dlr");
	TCase *tc = tcase_create("dlr");
	SRunner *sr;
	int failed;

	mgw_log_set_all(MGW_LOGL_ERROR);
	tcase_add_test(tc, appendix_b);
	tcase_add_test(tc, tolerant);
	tcase_add_test(tc, refused);
	tcase_add_test(tc, tlv_and_ids);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
