"""Insight pages: the reason tagger's quality figures for administrators, and the tag
suggestions the callback workbench asks for while an evaluator types."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from minyi.insight.selectors import tagger_overview
from minyi.insight.tagging import suggest_tags
from minyi.insight.tasks import tagger_train_task
from minyi.orgs.access import staff_view
from minyi.orgs.roles import Perm
from minyi.perception.models import ReasonTag

MAX_TEXT = 2000


@staff_view(Perm.TAGGER_VIEW)
def tagger(request):
    return render(request, "insight/tagger.html", tagger_overview())


@staff_view(Perm.TAGGER_VIEW)
def tagger_train(request):
    """GET asks for confirmation; POST hands the training to the task worker (seconds on a
    demo, minutes on a city's year of callbacks: too long for a request)."""
    if request.method == "POST":
        tagger_train_task.enqueue(actor_id=request.user.pk)
        messages.success(request, _("已提交重新训练，通常一两分钟内完成；刷新本页即可看到新版本。"))
        return redirect("insight:tagger")
    return render(request, "insight/tagger_train.html")


@staff_view(Perm.CALLBACK_WORK)
@require_POST
def suggest(request):
    """The reason-tag checkboxes for a reason text (an htmx fragment): every tag, the
    suggested ones checked and marked. With `current=1`, tags the evaluator checked by hand
    (`tags` minus the previous `suggested_tags`) stay checked. POST only: the citizen's words
    must not end up in a URL (and so in access logs)."""
    data = request.POST
    text = (data.get("text") or data.get("reason_text") or "")[:MAX_TEXT]
    suggested = suggest_tags(text)
    checked = set(suggested)
    if data.get("current"):
        previous = set(data.getlist("suggested_tags"))
        checked |= set(data.getlist("tags")) - previous
    choices = [
        {
            "value": value,
            "label": label,
            "checked": value in checked,
            "suggested": value in suggested,
        }
        for value, label in ReasonTag.choices
    ]
    return render(
        request, "insight/_tag_choices.html", {"choices": choices, "suggested": suggested}
    )
