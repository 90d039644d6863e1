# tests/unit/core/codec.mk
