# tests/unit/north/north.mk
