# tests/unit/store/store.mk
