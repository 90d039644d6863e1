# tests/unit/north/client.mk
