# tests/unit/core/core.mk
