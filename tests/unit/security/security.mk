# tests/unit/security/security.mk
