"""config.py - constants shared by the fixtures and the tests."""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
# The OpenAPI document as the build merged it (openapi/ + the descriptors), next to the binary;
# read by spec.load_spec(), once per run.
SPEC_PATH = (Path(os.environ.get("SHARAKA_BIN") or REPO / "build" / "sharaka").parent / "openapi" /
             "openapi.json")

JWT_SECRET = "sharaka-test-secret-0123456789-abcdefghijklmnopq"  # 48 bytes
MAX_BODY = 65536  # SHARAKA_MAX_BODY of the test servers
CORS_ORIGIN = "https://app.example.org"
ADMIN_EMAIL = "admin@test.example"
ADMIN_PASSWORD = "correct horse battery staple 1"
