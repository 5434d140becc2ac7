"""deploy/: the nginx config renders and nginx accepts it; the units run commands that exist.
(`make prod-check` runs the whole layout; these are the quick checks.)"""

import importlib.util
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from minyi.worker.scheduler import load_schedule

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def _render_module():
    spec = importlib.util.spec_from_file_location("render_nginx", DEPLOY / "render_nginx.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _render(tmp_path, **overrides):
    values = {
        "server_name": "minyi.example.gov.cn",
        "certificate": str(tmp_path / "cert.pem"),
        "certificate_key": str(tmp_path / "key.pem"),
        "static_root": str(tmp_path / "static"),
        "web": ["127.0.0.1:8001", "127.0.0.1:8002"],
        "max_request_mb": 16,
        "listen_address": "127.0.0.1",
        "https_port": 8443,
        "http_port": 8080,
        "access_log": str(tmp_path / "access.log"),
    }
    return _render_module().render(**{**values, **overrides})


def test_rendered_config_fills_every_placeholder_and_never_trusts_the_client(tmp_path):
    text = _render(tmp_path)
    assert not re.search(r"@[A-Z_]+@", text)  # no placeholder left
    assert "client_max_body_size 16m;" in text
    assert "server 127.0.0.1:8002 max_fails=1" in text
    # nginx writes X-Forwarded-For itself: the client's own header is dropped, not appended to
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in text
    assert "$proxy_add_x_forwarded_for" not in text
    assert "proxy_set_header X-Forwarded-Proto https;" in text
    # The access log never holds a query string (Kannel's callbacks carry token and mobiles)
    log_format = re.search(r"log_format minyi_access(.*?);", text, re.S).group(1)
    assert "$uri" in log_format
    for leak in ("$request ", "$request_uri", "$args", "$query_string", "$http_referer"):
        assert leak not in log_format


@pytest.mark.parametrize(
    "overrides",
    [{"web": []}, {"web": ["127.0.0.1:8001; include /etc/passwd"]}, {"server_name": "a b"}],
)
def test_a_value_that_would_change_the_config_is_refused(tmp_path, overrides):
    with pytest.raises(ValueError):
        _render(tmp_path, **overrides)


def test_nginx_accepts_the_rendered_config(tmp_path):
    # Given a throwaway certificate and the main context production's nginx.conf gives
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout", str(tmp_path / "key.pem"),
         "-out", str(tmp_path / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    (tmp_path / "static").mkdir()
    site = tmp_path / "minyi.conf"
    site.write_text(_render(tmp_path))
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n include /etc/nginx/mime.types;\n client_body_temp_path {tmp_path}/body;\n"
        f" proxy_temp_path {tmp_path}/proxy;\n fastcgi_temp_path {tmp_path}/f;\n"
        f" uwsgi_temp_path {tmp_path}/u;\n scgi_temp_path {tmp_path}/s;\n include {site};\n}}\n"
    )
    # When nginx tests it, then it is accepted
    result = subprocess.run(
        [NGINX, "-t", "-e", "stderr", "-p", str(tmp_path), "-c", str(main)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


@pytest.mark.parametrize(
    ("unit", "args"),
    [
        ("minyi-sender@.service", ["--jobs", "outbox_send,outbox_recover"]),
        ("minyi-worker@.service", ["--skip-jobs", "outbox_send,outbox_recover"]),
    ],
)
def test_units_run_the_worker_with_job_lists_it_takes(unit, args):
    text = (DEPLOY / "systemd" / unit).read_text()
    exec_start = shlex.split(re.search(r"^ExecStart=(.+)$", text, re.M).group(1))
    assert exec_start[1:] == ["manage.py", "worker", *args]
    assert "EnvironmentFile=/etc/minyi/minyi.env" in text
    # the job names exist (a typo would fail at start): the sender takes exactly these two
    names = {job.name for job in load_schedule()}
    assert set(args[1].split(",")) <= names
    with pytest.raises(CommandError, match="no such job"):
        call_command("worker", "--once", args[0], args[1] + ",typo")
