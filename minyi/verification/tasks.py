"""Background work for one-time SMS codes: forgetting old throttle counts and blanking sent
codes, run by `manage.py worker` on settings.WORKER_SCHEDULE."""

from django_tasks import task

from minyi.verification.services import otp_redact_sent, throttle_purge


@task()
def throttle_purge_task() -> dict:
    return {"throttle_purged": throttle_purge()}


@task()
def otp_redact_task() -> dict:
    return {"otp_redacted": otp_redact_sent()}
