"""Staff pages for votes (票选), under /votes/: campaigns, options, paper keying, the audit
(chain, rejections, stuffing review), results and the chosen actions' progress."""

app_name = "votes"

urlpatterns: list = []
