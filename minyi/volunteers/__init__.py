"""Volunteers and partner organisations (群防群治: 志愿者, Boss义警, "4+X" 巡逻伙伴), issue 17
item 5: a registry of volunteers kept with their consent (PIPL), partner organisations,
activities posted by stations with sign-up, attendance and hours, recognition lists (表彰榜),
and volunteers' patrols of key areas counted toward patrol visibility (巡逻见警率) as
check-ins (巡逻打卡) of the community app."""
