"""Write a local .env with fresh secrets for development (`make run` calls this once).

Never overwrites an existing .env: a secret added since it was written (MINYI_VOTE_KEY) is
appended to it. Production sets the same variables in its environment.
"""

import secrets
import sys
from pathlib import Path

from cryptography.fernet import Fernet

target = Path(sys.argv[1] if len(sys.argv) > 1 else ".env")
SECRETS = {
    "MINYI_SECRET_KEY": lambda: secrets.token_urlsafe(50),
    "MINYI_PII_ENCRYPTION_KEYS": lambda: Fernet.generate_key().decode(),
    "MINYI_PII_HASH_KEY": lambda: secrets.token_urlsafe(32),
    "MINYI_VOTE_KEY": lambda: secrets.token_urlsafe(32),
}
if target.exists():
    text = target.read_text()
    have = {line.split("=", 1)[0].strip() for line in text.splitlines() if "=" in line}
    missing = [name for name in SECRETS if name not in have]
    if missing:
        lines = "".join(f"{name}={SECRETS[name]()}\n" for name in missing)
        target.write_text(text + ("" if text.endswith("\n") else "\n") + lines)
        print(f"added {', '.join(missing)} to {target}")
    sys.exit(0)
target.write_text(
    "# Written by `make run` for local development. Not for production; never commit.\n"
    "MINYI_DEBUG=true\n"
    "MINYI_DEMO_MODE=true\n" + "".join(f"{name}={make()}\n" for name, make in SECRETS.items())
)
print(f"wrote {target} with fresh development secrets")
