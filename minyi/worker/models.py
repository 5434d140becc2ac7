from django.db import models


class ScheduledJob(models.Model):
    """Where the scheduler is with one entry of settings.WORKER_SCHEDULE: when it last
    enqueued the entry's task, and the result id of that run (to know whether it is still
    waiting or running, and whether it found work). Kept in the database, so periods hold
    across restarts and several workers, each scheduling, enqueue a job once."""

    name = models.CharField(max_length=100, unique=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    result_id = models.CharField(max_length=64, blank=True)

    def __str__(self):
        return self.name
