"""Citizen pages of the chosen actions (惠民实事进展), under /c/votes/actions/: the list with
each action's progress and responsible unit, one action's public timeline (updates, photos,
figures, milestones, the campaign it came from and its votes), and following it by SMS from
a mobile proven with a one-time code (OtpPurpose.ACTION_FOLLOW, subject = the plan's pk).

Only plans of published campaigns exist here; anything else answers 404. Phone first, no
JavaScript: "获取验证码" is a submit button of the follow form.
"""

from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from minyi.core.errors import ApplicationError, NotFound
from minyi.core.pii import mask_mobile
from minyi.verification.models import OtpPurpose
from minyi.verification.services import session_forget, session_verified_mobile
from minyi.verification.views import proven_mobile, send_code, wants_code
from minyi.votes.action_forms import FollowForm
from minyi.votes.actions import (
    follow,
    follower_active,
    option_vote_count,
    plan_updates,
    public_photo_get,
    public_plan_get,
    public_plans,
    unfollow,
)

FOLLOW, UNFOLLOW, FORGET = "follow", "unfollow", "forget"


def _plan(pk):
    try:
        return public_plan_get(pk)
    except NotFound as exc:
        raise Http404 from exc


def actions(request):
    return render(request, "votes/public/action_list.html", {"plans": list(public_plans())})


def action(request, pk):
    plan = _plan(pk)
    return render(
        request,
        "votes/public/action_detail.html",
        {
            "plan": plan,
            "option": plan.option,
            "campaign": plan.option.campaign,
            "milestones": list(plan.milestones.all()),
            "updates": list(plan_updates(plan)),
            "votes": option_vote_count(plan.option),
        },
    )


def _proven(request, plan) -> str:
    return session_verified_mobile(
        request.session, purpose=OtpPurpose.ACTION_FOLLOW, subject=str(plan.pk)
    )


def action_follow(request, pk):
    plan = _plan(pk)
    subject = str(plan.pk)
    mobile = _proven(request, plan)
    action_name = request.POST.get("action", "") if request.method == "POST" else ""
    if mobile and action_name in (FOLLOW, UNFOLLOW, FORGET):
        # The session already proved this mobile for this action: no second code.
        if action_name == FOLLOW:
            follow(plan, mobile)
        elif action_name == UNFOLLOW:
            unfollow(plan, mobile)
        else:
            session_forget(request.session, purpose=OtpPurpose.ACTION_FOLLOW)
        return redirect("votes_public:action_follow", pk=plan.pk)
    if mobile:
        return render(
            request,
            "votes/public/action_follow.html",
            {
                "plan": plan,
                "mobile_masked": mask_mobile(mobile),
                "following": follower_active(plan, mobile),
            },
        )
    form = FollowForm(request.POST or None)
    notice = code_error = ""
    if wants_code(request):
        notice, code_error = send_code(
            request,
            mobile=request.POST.get("mobile", ""),
            purpose=OtpPurpose.ACTION_FOLLOW,
            subject=subject,
        )
    elif request.method == "POST" and form.is_valid():
        try:
            proven = proven_mobile(
                request,
                mobile=form.cleaned_data["mobile"],
                code=form.cleaned_data["code"],
                purpose=OtpPurpose.ACTION_FOLLOW,
                subject=subject,
            )
            follow(plan, proven)
        except NotFound as exc:
            raise Http404 from exc
        except ApplicationError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        else:
            return redirect("votes_public:action_follow", pk=plan.pk)
    return render(
        request,
        "votes/public/action_follow.html",
        {"plan": plan, "form": form, "notice": notice, "code_error": code_error},
    )


def action_photo(request, pk, photo_pk):
    """A progress photo, public once its campaign's results are: staff chose to publish it."""
    try:
        photo = public_photo_get(pk, photo_pk)
        handle = photo.file.open("rb")
    except (NotFound, FileNotFoundError) as exc:
        raise Http404(_("照片不存在。")) from exc
    response = FileResponse(handle, content_type=photo.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "public, max-age=3600"
    return response
