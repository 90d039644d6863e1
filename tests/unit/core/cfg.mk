# tests/unit/core/cfg.mk: the YAML configuration engine (src/core/cfg.c)
check_PROGRAMS += tests/unit/core/test_cfg
TESTS += tests/unit/core/test_cfg
tests_unit_core_test_cfg_SOURCES = tests/unit/core/test_cfg.c
tests_unit_core_test_cfg_LDADD = $(MGW_LIBS) $(DEP_LIBS) $(CHECK_LIBS)
tests_unit_core_test_cfg_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
