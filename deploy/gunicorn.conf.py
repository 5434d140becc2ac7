"""gunicorn for one Minyi web process behind nginx (deploy/nginx/minyi.conf).

    gunicorn --config deploy/gunicorn.conf.py --bind 127.0.0.1:8001

systemd starts one per port (deploy/systemd/minyi-web@.service); they share nothing but the
database, so add ports (and machines) for load. Settings come from the environment (the
unit's EnvironmentFile): MINYI_WEB_WORKERS, MINYI_WEB_TIMEOUT_SECONDS, MINYI_WEB_ACCESS_LOG.
"""

import multiprocessing
import os

wsgi_app = "minyi.wsgi:application"
bind = [os.environ.get("MINYI_WEB_BIND", "127.0.0.1:8001")]  # --bind on the command line wins

# Sync workers: each request holds one, so the count is the concurrency of this process.
# Default: 2 per core, at least 2 (the database, not Python, is the bottleneck).
workers = int(os.environ.get("MINYI_WEB_WORKERS", max(2, 2 * multiprocessing.cpu_count())))
worker_class = "sync"
# The app is imported once in the master, before forking: workers start fast and a broken
# release fails at start, not on the first request. A reload (HUP) re-imports it.
preload_app = True
# A worker that has served this many requests is replaced (a slow leak stays small).
max_requests = 2000
max_requests_jitter = 200

# A request running longer than this is killed; nginx gives up 5 s earlier (proxy_read_timeout)
# and answers 504, so the client gets an answer. Exports that take longer belong in a task.
timeout = int(os.environ.get("MINYI_WEB_TIMEOUT_SECONDS", 60))
graceful_timeout = 30  # on stop or reload, requests in flight get this long to finish
keepalive = 5

# nginx is the only client: it sets X-Forwarded-Proto and X-Forwarded-For itself (Django reads
# them through MINYI_BEHIND_TLS_PROXY and MINYI_TRUSTED_PROXY_COUNT); gunicorn trusts them only
# from these addresses.
forwarded_allow_ips = os.environ.get("MINYI_WEB_FORWARDED_ALLOW_IPS", "127.0.0.1")
limit_request_line = 8190  # Kannel's callback URLs carry long url-encoded Chinese text
limit_request_fields = 100

# Logs. nginx writes the access log; gunicorn's is off unless MINYI_WEB_ACCESS_LOG names a
# file (or "-"). Never the query string (%(q)s, %(r)s, %(U)s with args): Kannel's callback
# URLs carry the gateway token and citizens' mobiles there. Nor the referrer or user agent.
accesslog = os.environ.get("MINYI_WEB_ACCESS_LOG") or None
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
errorlog = "-"  # journald
loglevel = os.environ.get("MINYI_WEB_LOG_LEVEL", "warning")
capture_output = True
proc_name = "minyi-web"
