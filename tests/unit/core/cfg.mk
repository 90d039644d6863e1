# tests/unit/core/cfg.mk
