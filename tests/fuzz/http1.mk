# tests/fuzz/http1.mk
