"""config.py - constants shared by the fixtures and the tests."""

from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
SPEC_PATH = REPO / "openapi" / "openapi.yaml"  # read by spec.load_spec(), once per run

JWT_SECRET = "sharaka-test-secret-0123456789-abcdefghijklmnopq"  # 48 bytes
MAX_BODY = 65536  # SHARAKA_MAX_BODY of the test servers
CORS_ORIGIN = "https://app.example.org"
ADMIN_EMAIL = "admin@test.example"
ADMIN_PASSWORD = "correct horse battery staple 1"
