"""Minyi settings: one file, every value from the environment with a safe default.

Every setting is listed in `.env.example`. Bad values fail loudly at start-up rather than
half-working in production.
"""

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
# A local `.env` (written by `make run` on first start, never committed) fills in what the
# process environment does not set.
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("MINYI_DEBUG", default=False)
DEMO_MODE = env.bool("MINYI_DEMO_MODE", default=DEBUG)
# Demo only (ignored unless MINYI_DEMO_MODE): SMS go out at once, quiet hours or not, so the
# whole journey can be tried at 02:00. `make run` turns it on.
DEMO_IGNORE_QUIET_HOURS = env.bool("MINYI_DEMO_IGNORE_QUIET_HOURS", default=False)
SECRET_KEY = env.str("MINYI_SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "MINYI_SECRET_KEY is not set. `make run` writes a local .env with fresh keys; "
        "in production set it in the environment (see .env.example)."
    )
ALLOWED_HOSTS = env.list("MINYI_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("MINYI_CSRF_TRUSTED_ORIGINS", default=[])

# --- Personal data (mobile and ID numbers) -------------------------------------------------
# Fernet keys, newest first: encryption uses the first, decryption tries all (key rotation).
PII_ENCRYPTION_KEYS = env.list("MINYI_PII_ENCRYPTION_KEYS", default=[])
# HMAC key for the lookup hashes; changing it means re-hashing every row.
PII_HASH_KEY = env.str("MINYI_PII_HASH_KEY", default="")
if not PII_ENCRYPTION_KEYS or not PII_HASH_KEY:
    raise ImproperlyConfigured(
        "MINYI_PII_ENCRYPTION_KEYS and MINYI_PII_HASH_KEY must be set (see .env.example)."
    )

# HMAC key for voter keys (one ballot per mobile per campaign, 票选): its own secret, so that
# neither SECRET_KEY nor the PII hash key can link a ballot to a mobile. Never change it while
# a campaign is open.
VOTE_KEY = env.str("MINYI_VOTE_KEY", default="")
if not VOTE_KEY:
    raise ImproperlyConfigured("MINYI_VOTE_KEY must be set (see .env.example).")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "treebeard",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "csp",
    "django_htmx",
    "minyi.core",
    "minyi.orgs",
    "minyi.perception",
    "minyi.callbacks",
    "minyi.inbox",
    "minyi.workorders",
    "minyi.notifications",
    "minyi.insight",
    "minyi.dashboards",
    "minyi.warnings",
    "minyi.portal",
    "minyi.directory",
    "minyi.opinions",
    "minyi.cases",
    "minyi.demo",
    "minyi.console",
    "minyi.worker",
    "minyi.integrations.sms",
    "minyi.verification",
    "minyi.polls",
    "minyi.accountability",
    "minyi.votes",
    "minyi.community",
    "minyi.meetings",
    "minyi.reminders",
    "minyi.appointments",
    "minyi.volunteers",
    "minyi.assessment",
    "minyi.ops",
    "minyi.privacy",
    "minyi.reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "minyi.core.middleware.LanguageMiddleware",
    "minyi.core.middleware.ApiJsonErrorsMiddleware",
    # The demo's Chinese 404/500 pages in place of Django's technical ones (DEBUG + DEMO_MODE).
    "minyi.console.middleware.DemoErrorPagesMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "minyi.orgs.middleware.AdminSecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "minyi.orgs.middleware.StaffIdleTimeoutMiddleware",
    # Last, as django-axes requires.
    "axes.middleware.AxesMiddleware",
]

# The SMS gateway's callbacks (Kannel's get-url and dlr-url) carry no session, user or page:
# minyi.wsgi serves them through this chain only (minyi/core/wsgi.py).
GATEWAY_PATH_PREFIXES = ("/sms/kannel/",)
GATEWAY_MIDDLEWARE = ["django.middleware.security.SecurityMiddleware"]

ROOT_URLCONF = "minyi.urls"
WSGI_APPLICATION = "minyi.wsgi.application"
AUTH_USER_MODEL = "orgs.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "console:home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "minyi.console.context_processors.console",
                "minyi.notifications.context_processors.notifications",
            ],
        },
    },
]

# --- Database ------------------------------------------------------------------------------
# SQLite by default (embedded, `make run`); MINYI_DATABASE_URL=postgres://... for production.
DATABASES = {
    "default": env.db_url(
        "MINYI_DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'minyi.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; IMMEDIATE avoids lock upgrades.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # Tests use a file, not memory: the live server (browser and gateway tests) then has its
    # own connections, as in production, instead of sharing one across threads.
    # One file per test process, so that two runs in one checkout do not collide.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("MINYI_DB_CONN_MAX_AGE", default=60)
    # A health check is a `SELECT 1` before each request's first statement: it halved the
    # citizens' case-progress page (bench/portal.py). Without it a connection the server
    # dropped fails one request per process, then Django replaces it.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("MINYI_DB_HEALTH_CHECKS", default=False)
    # Page queries are short; PostgreSQL's JIT compiled some drill-downs for 0.6-1.5 s of a
    # 2.8 s query (bench/dashboard.py, docs/performance.md).
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
# A PostgreSQL streaming replica for the dashboards' reads (minyi/core/db_router.py); tests
# read it as the primary (MIRROR).
if env.str("MINYI_REPLICA_DATABASE_URL", default=""):
    DATABASES["replica"] = env.db_url("MINYI_REPLICA_DATABASE_URL")
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"].get("CONN_MAX_AGE", 0)
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["minyi.core.db_router.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Background tasks (Django's Tasks API through the django-tasks backport) ---------------
TASKS = {
    "default": {
        "BACKEND": env.str("MINYI_TASKS_BACKEND", default="django_tasks_db.DatabaseBackend"),
    }
}

# What `manage.py worker` (minyi/worker) enqueues, and every how many seconds; each task is
# an app's own `tasks.py`. A sweep claims its rows with SKIP LOCKED: its runs may overlap on
# several workers, and a run that found work is followed at once by the next (a backlog is
# worked through, not paced). Any other job waits while its last run is waiting or running.
# "at_start": False makes a job wait one period after it is first seen (the daily ones).
WORKER_SCHEDULE = {
    # The perception loop (docs/architecture.md, "Background work").
    "surveys_schedule": {
        "task": "minyi.perception.tasks.surveys_schedule_task", "every": 2, "sweep": True
    },
    "surveys_dispatch": {
        "task": "minyi.perception.tasks.surveys_dispatch_task", "every": 2, "sweep": True
    },
    "outbox_send": {
        "task": "minyi.integrations.sms.tasks.outbox_send_task", "every": 2, "sweep": True
    },
    "inbound_process": {
        "task": "minyi.perception.tasks.inbound_process_task", "every": 2, "sweep": True
    },
    "outbox_recover": {
        "task": "minyi.integrations.sms.tasks.outbox_recover_task", "every": 10, "sweep": True
    },
    "surveys_remind": {
        "task": "minyi.perception.tasks.surveys_remind_task", "every": 60, "sweep": True
    },
    "polls_invite": {"task": "minyi.polls.tasks.poll_invite_task", "every": 2, "sweep": True},
    "polls_remind": {"task": "minyi.polls.tasks.poll_remind_task", "every": 60, "sweep": True},
    # Follow-up deadlines: reminders, escalation, unrated answers closed.
    "workorders_remind": {
        "task": "minyi.workorders.tasks.workorders_remind_task", "every": 60, "sweep": True
    },
    "workorders_escalate": {
        "task": "minyi.workorders.tasks.workorders_escalate_task", "every": 60, "sweep": True
    },
    "opinions_sweep": {
        "task": "minyi.opinions.tasks.opinions_sweep_task", "every": 60, "sweep": True
    },
    # Periodic jobs. In production the daily ones may run from cron at night instead
    # (docs/deployment.md): then take them out here.
    "dashboard_rollups": {"task": "minyi.dashboards.tasks.dashboard_rollups_task", "every": 300},
    "throttle_purge": {"task": "minyi.verification.tasks.throttle_purge_task", "every": 300},
    "otp_redact": {"task": "minyi.verification.tasks.otp_redact_task", "every": 300},
    "task_results_prune": {"task": "minyi.worker.tasks.task_results_prune_task", "every": 600},
    "warnings_compute": {"task": "minyi.warnings.tasks.compute_warnings_task", "every": 3600},
    # Votes (票选): closing on time, the daily chain head, the stuffing review's flags.
    "votes_close": {"task": "minyi.votes.tasks.votes_close_due_task", "every": 60},
    "votes_heads": {"task": "minyi.votes.tasks.votes_heads_publish_task", "every": 3600},
    "votes_stuffing": {"task": "minyi.votes.tasks.votes_stuffing_detect_task", "every": 600},
    "community_colours": {"task": "minyi.community.tasks.community_colours_task", "every": 86400},
    "community_passes": {"task": "minyi.community.tasks.community_passes_task", "every": 3600},
    # Every channel into one flow (issue 17).
    "reminders_send_due": {
        "task": "minyi.reminders.tasks.reminders_send_due_task", "every": 300, "sweep": True
    },
    "repeat_referrals": {"task": "minyi.dashboards.tasks.repeat_referrals_task", "every": 300},
    "appointments_remind": {
        "task": "minyi.appointments.tasks.appointment_reminders_task", "every": 600
    },
    "tagger_train": {
        "task": "minyi.insight.tasks.tagger_train_task", "every": 86400, "at_start": False
    },
    # Every citizen text tagged as it arrives (issue 20); a full pass daily catches rows
    # that arrived with an old time (an imported poll wave, a history load).
    "texts_tag": {"task": "minyi.insight.tasks.texts_tag_task", "every": 60},
    # 民意分析报告: last month's, per bureau, from the first working day (hourly check).
    "monthly_reports": {"task": "minyi.reports.tasks.monthly_reports_task", "every": 3600},
    "texts_tag_full": {
        "task": "minyi.insight.tasks.texts_tag_task",
        "every": 86400,
        "at_start": False,
        "kwargs": {"full": True},
    },
    "dashboard_rollups_full": {
        "task": "minyi.dashboards.tasks.dashboard_rollups_task",
        "every": 86400,
        "at_start": False,
        "kwargs": {"full": True},
    },
    # Retention (PIPL): personal data past its period deleted or pseudonymised, daily.
    "privacy_purge": {
        "task": "minyi.privacy.tasks.personal_data_purge_task", "every": 86400, "at_start": False
    },
}  # fmt: skip
# Jobs left out by name, e.g. the daily ones when cron runs them at night instead.
_worker_skip = set(env.list("MINYI_WORKER_SKIP_JOBS", default=[]))
if _worker_skip - WORKER_SCHEDULE.keys():
    raise ImproperlyConfigured(
        f"MINYI_WORKER_SKIP_JOBS: no such job {sorted(_worker_skip - WORKER_SCHEDULE.keys())}"
    )
WORKER_SCHEDULE = {k: v for k, v in WORKER_SCHEDULE.items() if k not in _worker_skip}

# A full batch of 5,000 events with several officers each is a few MB of JSON.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MINYI_MAX_REQUEST_MB", default=16) * 2**20
# Longest URL (path and query) the API answers; longer ones get a JSON 414.
API_MAX_URL_LENGTH = 2048

# --- Satisfaction surveys (capability 1) ----------------------------------------------------
# Public address of this instance, for the short survey link in SMS (https://… in production).
PUBLIC_BASE_URL = env.str("MINYI_PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
SMS_SIGNATURE = env.str("MINYI_SMS_SIGNATURE", default="【绍兴公安】")
SURVEY_QUIET_START = env.int("MINYI_SURVEY_QUIET_START_HOUR", default=21)  # no SMS from 21:00
SURVEY_QUIET_END = env.int("MINYI_SURVEY_QUIET_END_HOUR", default=8)  # … until 08:00
SURVEY_COOL_OFF_DAYS = env.int("MINYI_SURVEY_COOL_OFF_DAYS", default=7)
SURVEY_EXPIRY_HOURS = env.int("MINYI_SURVEY_EXPIRY_HOURS", default=72)
SURVEY_REMINDER_HOURS = env.int("MINYI_SURVEY_REMINDER_HOURS", default=24)  # 0: no reminder
SURVEY_STALE_DAYS = env.int("MINYI_SURVEY_STALE_DAYS", default=3)  # older contacts: no survey
# Due surveys put in the outbox per worker run; the sender starts on them while the next are
# prepared (docs/performance.md, "SMS").
SURVEY_DISPATCH_BATCH = env.int("MINYI_SURVEY_DISPATCH_BATCH", default=200)
POLL_REMINDER_HOURS = env.int("MINYI_POLL_REMINDER_HOURS", default=48)  # 民意测评: 1 reminder
POLL_EXPIRY_DAYS = env.int("MINYI_POLL_EXPIRY_DAYS", default=7)  # poll link closes after this
POLL_RESPONSE_RATE = env.float("MINYI_POLL_RESPONSE_RATE", default=0.3)  # to oversample a quota
POLL_SAMPLE_DAYS = env.int("MINYI_POLL_SAMPLE_DAYS", default=180)  # contacts sampled for polls
POLL_MIN_N_EFF = env.int("MINYI_POLL_MIN_N_EFF", default=100)  # poll cells below: not ranked
CALLBACK_DUE_HOURS = env.int("MINYI_CALLBACK_DUE_HOURS", default=24)
# The callback workbench (回访工作台): a claimed task returns to the queue after this long
# without a save; an unanswered call waits this long before the next attempt (at another
# time of day); after this many unanswered calls the citizen counts as unreachable.
CALLBACK_CLAIM_MINUTES = env.int("MINYI_CALLBACK_CLAIM_MINUTES", default=30)
CALLBACK_RETRY_MINUTES = env.int("MINYI_CALLBACK_RETRY_MINUTES", default=120)
CALLBACK_MAX_ATTEMPTS = env.int("MINYI_CALLBACK_MAX_ATTEMPTS", default=3)
# Work orders (整改工单): a unit may appeal within this many working days of dispatch; a
# reminder goes this many working days before the deadline; evidence files are at most this
# big and of these types (checked by content, not by name).
APPEAL_WINDOW_WORKDAYS = env.int("MINYI_APPEAL_WINDOW_WORKDAYS", default=3)
WORKORDER_REMIND_WORKDAYS = env.int("MINYI_WORKORDER_REMIND_WORKDAYS", default=1)
EVIDENCE_MAX_BYTES = env.int("MINYI_EVIDENCE_MAX_BYTES", default=10 * 1024 * 1024)

# Citizen pages (群众门户): one-time SMS codes (minyi.verification), opinions, case progress,
# officer directory (minyi.directory).
OTP_TTL_MINUTES = env.int("MINYI_OTP_TTL_MINUTES", default=10)
OTP_PER_MOBILE_HOUR = env.int("MINYI_OTP_PER_MOBILE_HOUR", default=5)
OTP_PER_IP_HOUR = env.int("MINYI_OTP_PER_IP_HOUR", default=20)
OTP_PER_IP_DAY = env.int("MINYI_OTP_PER_IP_DAY", default=100)
OTP_MAX_FAILURES = env.int("MINYI_OTP_MAX_FAILURES", default=5)
# The first lock lasts this long; each next one twice as long, up to a day.
OTP_LOCK_MINUTES = env.int("MINYI_OTP_LOCK_MINUTES", default=15)
# How long a proven mobile stays proven in the citizen's browser session.
OTP_SESSION_MINUTES = env.int("MINYI_OTP_SESSION_MINUTES", default=30)
CASE_LOOKUPS_PER_IP_HOUR = env.int("MINYI_CASE_LOOKUPS_PER_IP_HOUR", default=30)
OPINIONS_PER_MOBILE_DAY = env.int("MINYI_OPINIONS_PER_MOBILE_DAY", default=10)
# Service reminders (办事提醒) per mobile: at most this many a day and in 30 days.
REMINDER_MAX_PER_DAY = env.int("MINYI_REMINDER_MAX_PER_DAY", default=2)
REMINDER_MAX_PER_30_DAYS = env.int("MINYI_REMINDER_MAX_PER_30_DAYS", default=6)
OPINION_PHOTO_MAX_BYTES = env.int("MINYI_OPINION_PHOTO_MAX_BYTES", default=5 * 1024 * 1024)
# An answer the citizen has not rated is closed after this many days.
OPINION_RATING_DAYS = env.int("MINYI_OPINION_RATING_DAYS", default=7)

# --- Retention of personal data (PIPL; docs/security.md, "Retention and deletion") ----------
# Days each category is kept, counted from when it was received (an opinion: from its close).
# minyi.privacy refuses to start with audit rows under 183 days or processing records under
# 1095 days (the legal minimums).
RETENTION_DAYS = {
    "mobile": env.int("MINYI_RETENTION_MOBILE_DAYS", default=365),
    "text": env.int("MINYI_RETENTION_TEXT_DAYS", default=730),
    "media": env.int("MINYI_RETENTION_MEDIA_DAYS", default=730),
    "poll_answer": env.int("MINYI_RETENTION_POLL_ANSWER_DAYS", default=730),
    "audit": env.int("MINYI_RETENTION_AUDIT_DAYS", default=365),
    "processing_record": env.int("MINYI_RETENTION_PROCESSING_RECORD_DAYS", default=1095),
}
# The officer directory's public pages are the same for everyone: each web process keeps a
# rendered copy this long (0: never), so a QR-scan burst does not query the database each time.
PUBLIC_PAGE_CACHE_SECONDS = env.int("MINYI_PUBLIC_PAGE_CACHE_SECONDS", default=60)
# The cache is per process (nothing in it must be shared: rendered public pages only). Room for
# every officer's card and the communities searched, a few kB each.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "OPTIONS": {"MAX_ENTRIES": env.int("MINYI_CACHE_MAX_ENTRIES", default=5000)},
    }
}
if not (0 <= SURVEY_QUIET_END < SURVEY_QUIET_START <= 24):
    raise ImproperlyConfigured("Survey quiet hours must satisfy 0 <= END < START <= 24.")

# --- SMS gateway (docs/integration-sms.md) ------------------------------------------------
# console: messages stay in the outbox and show on the simulated phones page (demo);
# kannel: Kannel's HTTP sendsms, delivery reports and get-url for incoming messages.
SMS_BACKEND = env.str("MINYI_SMS_BACKEND", default="console")
if SMS_BACKEND not in ("console", "kannel"):
    raise ImproperlyConfigured("MINYI_SMS_BACKEND must be 'console' or 'kannel'.")
KANNEL_SENDSMS_URL = env.str(
    "MINYI_KANNEL_SENDSMS_URL", default="http://127.0.0.1:13013/cgi-bin/sendsms"
)
KANNEL_USERNAME = env.str("MINYI_KANNEL_USERNAME", default="minyi")
KANNEL_PASSWORD = env.str("MINYI_KANNEL_PASSWORD", default="")
KANNEL_SENDER = env.str("MINYI_KANNEL_SENDER", default="10690000")
KANNEL_TIMEOUT = env.float("MINYI_KANNEL_TIMEOUT_SECONDS", default=10.0)
# Delivery reports asked of Kannel: 1 delivered, 2 undeliverable, 4 buffered, 8 accepted by
# the SMSC, 16 rejected by the SMSC. 8 is required: it resolves sends of unknown outcome.
KANNEL_DLR_MASK = env.int("MINYI_KANNEL_DLR_MASK", default=31)
if SMS_BACKEND == "kannel" and not KANNEL_DLR_MASK & 8:
    raise ImproperlyConfigured("MINYI_KANNEL_DLR_MASK must include 8 (accepted by the SMSC).")
# Parallel sendsms requests per sender process.
KANNEL_CONCURRENCY = env.int("MINYI_KANNEL_CONCURRENCY", default=8)
# Shared secret Kannel puts in its get-url and dlr-url calls back to Minyi.
SMS_CALLBACK_TOKEN = env.str("MINYI_SMS_CALLBACK_TOKEN", default="")
if SMS_BACKEND == "kannel" and not SMS_CALLBACK_TOKEN:
    raise ImproperlyConfigured("MINYI_SMS_CALLBACK_TOKEN must be set for the Kannel backend.")
# Senders hold a claimed message this long before another sender may treat it as stuck.
SMS_CLAIM_LEASE_SECONDS = env.int("MINYI_SMS_CLAIM_LEASE_SECONDS", default=60)
# A message whose send outcome is unknown is re-sent only after the gateway has had this long
# to report it accepted.
SMS_UNKNOWN_GRACE_SECONDS = env.int("MINYI_SMS_UNKNOWN_GRACE_SECONDS", default=120)
SMS_MAX_ATTEMPTS = env.int("MINYI_SMS_MAX_ATTEMPTS", default=8)
# Messages a sender claims (and sends in parallel) at a time.
SMS_SEND_BATCH = env.int("MINYI_SMS_SEND_BATCH", default=200)
# Stored replies the worker's inbound_process job reads and attaches in one transaction.
INBOUND_BATCH = env.int("MINYI_INBOUND_BATCH", default=500)

# --- Authentication and sessions (docs/security.md explains each choice) -------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Lock an account after 5 failures, counted per username so that no forged
# X-Forwarded-For (or a botnet of addresses) can reset the count.
AXES_FAILURE_LIMIT = env.int("MINYI_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("MINYI_LOGIN_LOCKOUT_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = ["username"]
# Counted per account however it is spelt: sign-in ignores case and surrounding spaces.
AXES_USERNAME_CALLABLE = "minyi.orgs.lockout.lockout_username"
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "minyi.core.net.client_ip"
AXES_LOCKOUT_CALLABLE = "minyi.orgs.lockout.lockout_response"
AXES_VERBOSE = False
# W006 asks for ip_address in the lockout parameters; see docs/security.md for why not.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
# Per address, a larger limit over all accounts: one client guessing across many accounts is
# blocked, one person's typos do not lock out the station behind the same NAT address.
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("MINYI_LOGIN_ADDRESS_FAILURE_LIMIT", default=30)
LOGIN_ADDRESS_WINDOW_MINUTES = env.int("MINYI_LOGIN_ADDRESS_WINDOW_MINUTES", default=15)
# How many reverse proxies in front of Minyi append to X-Forwarded-For. 0: trust only the
# socket address, so a client cannot pick the address it is logged and rate-limited under.
TRUSTED_PROXY_COUNT = env.int("MINYI_TRUSTED_PROXY_COUNT", default=0)

SESSION_COOKIE_AGE = env.int("MINYI_SESSION_IDLE_SECONDS", default=30 * 60)
# Staff sessions are saved on every request (minyi.orgs.middleware.StaffIdleTimeoutMiddleware),
# so the age above is their idle timeout; citizens' sessions are saved only when they change.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_ENGINE = "minyi.core.sessions"  # Django's db sessions, read with plain SQL
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SECURE_COOKIES = env.bool("MINYI_SECURE_COOKIES", default=not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
OTP_TOTP_ISSUER = "Minyi 民意"

# --- Secure headers ------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env.bool("MINYI_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("MINYI_HSTS_SECONDS", default=0)
if env.bool("MINYI_BEHIND_TLS_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # Django admin and ECharts set inline styles.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
    }
}

# --- Language and time ---------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("MINYI_STATIC_ROOT", default=BASE_DIR / "var" / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
# Uploads (work-order evidence) live here, outside STATIC_ROOT, never served directly.
MEDIA_ROOT = env.path("MINYI_MEDIA_ROOT", default=BASE_DIR / "var" / "media")

# Logs (docs/deployment.md, "Health, metrics and logs"): one JSON object a line in production
# (MINYI_LOG_FORMAT=json), plain text by default. The root handler masks mobile and ID
# numbers in every line it writes, as a safety net: code never logs a person's data.
LOG_FORMAT = env.str("MINYI_LOG_FORMAT", default="text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured("MINYI_LOG_FORMAT must be 'text' or 'json'.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {
            "()": "minyi.ops.logs.TextFormatter",
            # No time: the journal and honcho (make run) put it in front of each line.
            "fmt": "%(levelname)s %(name)s %(message)s",
        },
        "json": {"()": "minyi.ops.logs.JsonFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("MINYI_LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's records go through the root handler only (masked, in LOG_FORMAT): not also
        # through Django's own console handler under DEBUG, nor mailed to ADMINS (a traceback
        # mail quotes the request's data).
        "django": {"handlers": [], "level": "INFO"},
        "axes": {"level": "WARNING"},
        # httpx logs every request URL at INFO: for Kannel's sendsms that is the citizen's
        # mobile, the text and the gateway password. Never below WARNING.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
# /metrics (docs/deployment.md, "Health, metrics and logs"): with a token, a scrape must send
# `Authorization: Bearer <token>`; without one, only a scraper on this machine talking to the
# web process directly (not through nginx) is answered.
METRICS_TOKEN = env.str("MINYI_METRICS_TOKEN", default="")
# The disk space the database may fill, for the "database filling up" alert (0: no alert).
DATABASE_CAPACITY_GB = env.float("MINYI_DATABASE_CAPACITY_GB", default=0)
# The TLS certificate nginx serves (PEM, the public part only), for the expiry alert.
TLS_CERT_FILE = env.str("MINYI_TLS_CERT_FILE", default="")
