"""Staff pages for votes (票选), under /votes/: campaigns and options, paper keying and the
audit (chain, rejections, stuffing review), results, and the chosen actions' progress."""

from minyi.votes.urls_actions import urlpatterns as actions
from minyi.votes.urls_audit import urlpatterns as audit
from minyi.votes.urls_campaigns import urlpatterns as campaigns

app_name = "votes"

urlpatterns = [*campaigns, *audit, *actions]
