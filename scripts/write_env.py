"""Write a local .env with fresh secrets for development (`make run` calls this once).

Never overwrites an existing .env; production sets the same variables in its environment.
"""

import secrets
import sys
from pathlib import Path

from cryptography.fernet import Fernet

target = Path(sys.argv[1] if len(sys.argv) > 1 else ".env")
if target.exists():
    sys.exit(0)
target.write_text(
    "# Written by `make run` for local development. Not for production; never commit.\n"
    "MINYI_DEBUG=true\n"
    "MINYI_DEMO_MODE=true\n"
    f"MINYI_SECRET_KEY={secrets.token_urlsafe(50)}\n"
    f"MINYI_PII_ENCRYPTION_KEYS={Fernet.generate_key().decode()}\n"
    f"MINYI_PII_HASH_KEY={secrets.token_urlsafe(32)}\n"
)
print(f"wrote {target} with fresh development secrets")
