"""`manage.py train_tagger`: retrain the reason tagger on the tags evaluators confirmed.

The worker retrains it daily (settings.WORKER_SCHEDULE); run this from cron instead on a large
city, or by hand. `--enqueue` hands it to the worker instead of running it here.
"""

from django.core.management.base import BaseCommand, CommandError

from minyi.core.errors import ApplicationError
from minyi.insight.services import tagger_train
from minyi.insight.tasks import tagger_train_task


def _f1(value) -> str:
    return "—" if value is None else f"{value:.3f}"


class Command(BaseCommand):
    help = (
        "Train the reason tagger on confirmed callback reasons, measure it on a held-out part "
        "and activate it when it had enough examples."
    )

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
        parser.add_argument(
            "--test-fraction", type=float, default=0.2, help="held-out share (default 0.2)"
        )
        parser.add_argument(
            "--enqueue", action="store_true", help="run it on the task worker instead"
        )

    def handle(self, *args, seed, test_fraction, enqueue, **options):
        if enqueue:
            result = tagger_train_task.enqueue(seed=seed)
            self.stdout.write(f"tagger training enqueued: task {result.id}")
            return
        try:
            model = tagger_train(seed=seed, test_fraction=test_fraction)
        except ApplicationError as exc:
            raise CommandError(str(exc.message)) from exc
        micro = model.metrics["model"]["micro"]
        rules = model.metrics["rules"]["micro"]
        state = "active" if model.is_active else f"not activated ({model.note})"
        self.stdout.write(
            self.style.SUCCESS(
                f"tagger v{model.version}: {model.n_train} train / {model.n_test} test, "
                f"learned {len(model.learned_tags)} tags, micro-F1 {_f1(micro['f1'])} "
                f"(rules {_f1(rules['f1'])}); {state}"
            )
        )
