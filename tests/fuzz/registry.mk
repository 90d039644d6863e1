# tests/fuzz/registry.mk: targets are added as FUZZ_PROGS += tests/fuzz/fuzz_X
FUZZ_PROGS += tests/fuzz/fuzz_registry
tests_fuzz_fuzz_registry_SOURCES = tests/fuzz/fuzz_registry.c $(FUZZ_MAIN)
tests_fuzz_fuzz_registry_LDADD = $(MGW_LIBS) $(DEP_LIBS)
tests_fuzz_fuzz_registry_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
# one entry as gwctl devices add and the streaming import read it (issue 13)
FUZZ_PROGS += tests/fuzz/fuzz_registry_entry
tests_fuzz_fuzz_registry_entry_SOURCES = tests/fuzz/fuzz_registry_entry.c $(FUZZ_MAIN)
tests_fuzz_fuzz_registry_entry_LDADD = $(MGW_LIBS) $(DEP_LIBS)
tests_fuzz_fuzz_registry_entry_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_LINK)
