# tests/fuzz/yaml.mk: targets are added as FUZZ_PROGS += tests/fuzz/fuzz_X
FUZZ_PROGS += tests/fuzz/fuzz_yaml_cfg
tests_fuzz_fuzz_yaml_cfg_SOURCES = tests/fuzz/fuzz_yaml_cfg.c $(FUZZ_MAIN)
tests_fuzz_fuzz_yaml_cfg_LDADD = $(MGW_LIBS) $(DEP_LIBS)
tests_fuzz_fuzz_yaml_cfg_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
