"""Render deploy/nginx/minyi.conf: every @NAME@ filled, or a clear error.

    python deploy/render_nginx.py --server-name minyi.example.gov.cn \
        --certificate /etc/ssl/minyi/fullchain.pem --certificate-key /etc/ssl/minyi/key.pem \
        --static-root /opt/minyi/var/static --web 127.0.0.1:8001 --web 127.0.0.1:8002 \
        > /etc/nginx/sites-available/minyi.conf

Standard library only: runs before the virtualenv exists. `make prod-check` and the suite
import `render()` from here (docs/deployment.md, "Production layout").
"""

import argparse
import os
import re
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "nginx" / "minyi.conf"
PLACEHOLDER = re.compile(r"@([A-Z_]+)@")


def render(
    *,
    server_name: str,
    certificate: str,
    certificate_key: str,
    static_root: str,
    web: list[str],
    max_request_mb: int,
    listen_address: str = "0.0.0.0",  # noqa: S104 - nginx is the public listener
    https_port: int = 443,
    http_port: int = 80,
    access_log: str = "/var/log/nginx/minyi.access.log",
    proxy_read_timeout: int = 55,
    template: Path = TEMPLATE,
) -> str:
    if not web:
        raise ValueError("at least one web process (--web HOST:PORT)")
    values = {
        "SERVER_NAME": server_name,
        "CERTIFICATE": certificate,
        "CERTIFICATE_KEY": certificate_key,
        "STATIC_ROOT": str(static_root).rstrip("/"),
        "MAX_REQUEST_MB": str(int(max_request_mb)),
        "LISTEN_ADDRESS": listen_address,
        "HTTPS_PORT": str(int(https_port)),
        "HTTP_PORT": str(int(http_port)),
        "ACCESS_LOG": access_log,
        "PROXY_READ_TIMEOUT": str(int(proxy_read_timeout)),
    }
    for name, value in [*values.items(), *(("WEB", address) for address in web)]:
        if not value or any(c in value for c in ";{}\"'#$ \t\r\n"):
            raise ValueError(f"{name}: {value!r} cannot go into nginx.conf")
    values["UPSTREAM_SERVERS"] = "\n".join(
        f"    server {address} max_fails=1 fail_timeout=10s;" for address in web
    )
    text = template.read_text()
    missing = set(PLACEHOLDER.findall(text)) - values.keys()
    if missing:
        raise ValueError(f"no value for {sorted(missing)}")
    return PLACEHOLDER.sub(lambda m: values[m.group(1)], text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server-name", required=True)
    parser.add_argument("--certificate", required=True)
    parser.add_argument("--certificate-key", required=True)
    parser.add_argument("--static-root", default=os.environ.get("MINYI_STATIC_ROOT"))
    parser.add_argument("--web", action="append", default=[], help="HOST:PORT of a gunicorn")
    parser.add_argument(
        "--max-request-mb", type=int, default=int(os.environ.get("MINYI_MAX_REQUEST_MB", 16))
    )
    parser.add_argument("--listen-address", default="0.0.0.0")  # noqa: S104
    parser.add_argument("--https-port", type=int, default=443)
    parser.add_argument("--http-port", type=int, default=80)
    parser.add_argument("--access-log", default="/var/log/nginx/minyi.access.log")
    args = parser.parse_args(argv)
    if not args.static_root:
        parser.error("--static-root (or MINYI_STATIC_ROOT) is required")
    sys.stdout.write(render(**{k: v for k, v in vars(args).items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
