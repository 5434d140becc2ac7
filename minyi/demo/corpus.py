"""Demo corpus: what citizens write to and about the police, in every source the reason
tagger reads (callback notes, survey comments, portal opinions and letters, case complaints,
poll comments, meeting questions), each text with its true reason tags, ranked.

Written apart from the tagger's keyword rules, in the ways people actually say things: SMS
fragments without punctuation, homophone typos, Shaoxing and Yongzhou dialect words,
Traditional characters, full-width digits, emoji, long letters whose complaint is one or two
sentences among many, praise that turns into a complaint, praise alone and off-topic texts.

A text's tags come from the one or two complaint cores it was built around. `label_of` finds
those cores again in any text the generator produced (after undoing the styles: Traditional
characters, typos, full-width digits, punctuation, emoji), so it is a pure function of the
text and works in another process long after the texts were stored.
"""

import itertools
import random
import re
import unicodedata
from functools import cache

from minyi.perception.models import ReasonTag
from minyi.perception.replies import ReplyKind, parse_reply

SOURCES = ("callback", "survey", "opinion", "case", "poll", "meeting")
OTHER = ReasonTag.OTHER.value

CODES = {
    "A": ReasonTag.ATTITUDE.value,
    "E": ReasonTag.EFFICIENCY.value,
    "M": ReasonTag.MULTIPLE_TRIPS.value,
    "C": ReasonTag.CONDUCT.value,
    "O": ReasonTag.OUTCOME.value,
    "R": ReasonTag.RESPONSE_SPEED.value,
    "I": ReasonTag.INTEGRITY.value,
    "X": ReasonTag.EXPLANATION.value,
    "F": ReasonTag.FACILITIES.value,
    "T": OTHER,
}

# --- Complaint cores -------------------------------------------------------------------------
# One core a line, "text|codes" (primary first). "{a|b}" expands to every alternative. A core
# carries the text's reasons; everything around it (fillers, letters) carries none.

CORES = {
    # What a citizen says in their own words (survey comments, portal messages, quotes).
    "spoken": """
等到花儿都谢了{民警|警察|人}才{来|到}|R
打了{两遍|三遍|好几遍}电话{人|警察}才慢吞吞过来|R
{小偷|人}都跑没影了警察才到|R
从报警到人来足足{一个钟头|大半个小时|快两个钟头}|R
说马上到结果{磨蹭|拖}了{一个多钟头|四十来分钟}|R
像皮球一样被踢来踢去|M
{来回|前后}跑了{三四趟|好几趟|五趟}{还没弄好|事情还没办成|也没个结果}|M
{今天|这次}又白跑一趟|M
让我明天再来明天再来{都|已经}第三个明天了|M
{材料|东西}每次只说一样害我来回折腾|M X
一问三不知{还|就}让我去问别人|X A
问他{为什么|咋回事}他就说{规定就是这样|上面规定的}{别的|什么}都不解释|X
{罚款|扣分}的依据{到现在|至今}{没人|也没人}跟我讲明白|X C
到底要准备哪些材料{没一个人|谁也}说得清楚|X
{办个证|办个事}{拖了|耗了}{大半个月|一个多月|快两个月}|E
窗口{就开一个|只开了一个}后面排了{几十号人|一长串}|E
{系统|电脑}{又坏了|一直卡}{干等|白等}了一上午|E F
{中午|下午}{去了|到了}{没人|人都不在}{说|讲}吃饭去了|E
{那个|那位}{民警|警官}{板着脸|拉着个脸}好像我欠{他|她}钱|A
{凶得很|凶巴巴的}{我问|问}两句就吼|A
{爱理不理|爱搭不理}{的|}头都不抬|A
{说话|讲话}{夹枪带棒|阴阳怪气}听着{真|实在}难受|A
把我当{犯人|贼}一样{审|问}|A C
没出示{证件|警官证}就{要查|翻}我的{包|东西}|C
{执法记录仪|记录仪}{都没开|没打开}{就|}开{罚单|单子}|C
{推了我|拽我胳膊}{一把|}{还说|说}我妨碍{公务|执行公务}|C A
{东西|车}{到现在|至今}{还没找回来|也没追回来}{也|}没人{管|过问}|O
{调解|处理}{完|了}{跟没处理一样|等于没处理}{对方|那家人}照样{闹|吵}|O
{钱|被骗的钱}{一分|一毛}都没追回来{说|讲}等消息|O
{报|打}了{三回|好几回|无数次}{警|110}{问题|事情}一点没解决|O
{收了|拿了}{对方|那边}的{好处|东西}{明显|处处}偏着{他们|对方}|I
{跟|和}{那边|对方}{称兄道弟|有说有笑}{一看就|肯定}是{熟人|认识的}|I A
{吃拿卡要|要好处}的{作风|毛病}{还在|没改}|I
{大厅|等候区}连{个座位|把椅子}都没有{老人|孕妇}只能站着|F
{厕所|洗手间}{锁着|不开}{门口|外面}{也没处停车|停车难}|F
{取号机|排号机}{坏了|是坏的}{好几天|一个礼拜}没人修|F
""",
    # SMS fragments: a few words, often no punctuation.
    "sms": """
态度{差|太差|恶劣}|A
太慢了{吧|啊|}|R
没人管|O
{还是|依旧}没解决|O
{跑了|又跑}{好几|三}趟|M
{啥|什么}都不说|X
乱罚款|C
{排队|等}{太久|太长}|E
{拖拖拉拉|慢吞吞}|E
凶什么凶|A
{人|警察}都没来|R
说不清楚|X
没地方停车|F
有关系就是不一样|I
""",
    # An evaluator's note of the call, in the third person.
    "note": """
群众称{出警|到场}时间{过长|太长|偏慢}|R
群众{反映|表示}{接警后|报警后}{约|大约|}{一小时|四十分钟|半小时以上}{民警|}{才到场|方到}|R
群众称民警{语气|口气}生硬{不耐烦|缺乏耐心}|A
群众{反映|称}窗口人员{服务意识差|态度冷淡}|A
群众{反映|称}{办理|审批}{周期|时间}{长|过长}{催问|多次询问}{无果|无回复}|E
群众{称|反映}{因|由于}材料{未一次告知|没有一次讲清}{往返|跑了}{多次|三次}|M X
群众{对|}{处理结果|调解结果}不认可{认为|觉得}{问题未解决|没有解决问题}|O
群众{称|反映}{未告知|没有告知}{案件|办理}进展{情况|}|X
群众{反映|称}民警{未出示证件|未表明身份}{即|就}{盘查|检查}|C
群众{怀疑|认为}{办案民警|民警}{与对方|和对方}{有私交|是熟人}{处理|}不公|I O
群众{反映|称}{办事大厅|服务大厅}{环境|秩序}{差|混乱}{无人引导|没人引导}|F
群众{称|表示}{不清楚|不记得}{办过什么|这次办的什么}业务{无|没有}具体意见|T
群众{误以为|以为}是{诈骗|推销}电话{未|没}{评价|作答}|T
""",
    # Shaoxing (Wu) and Yongzhou (Hunan) dialect.
    "dialect": """
{伊|伊拉}讲闲话{凶来|交关凶}{阿拉|我}{弗敢|弗好}再问|A
等{老早|老半天}{警察|人}{还弗来|弗来}|R
{材料|东西}讲{弗清爽|了弗清爽}{害得|让}阿拉跑{三趟|了好几趟}|M X
{搞弗清爽|弄弗清爽}{到底|}要{啥个|哪些}材料|X
{钞票|铜钿}{弗|勿}追回来{讲|话}等{消息|通知}|O
{冇|冇得}人{理|管}{咯|嘞}|O
{搞么子|搞么子咯}{等|搞}{半天|大半天}{冇|还冇}人来|R
{问么子|问他么子}{都|}{讲|说}不晓得|X
{那个|咯个}{警察|民警}{恶得很|凶得很}{咯|嘞}|A
{跑|走}了{好几|三}{道|回}{还|都}冇办好|M
""",
    # Complaints about a case: filing, inaction, progress, connections, outcome.
    "case": """
{报案|报警}{快|已经}{两个月|三个月|半年}了{一直|还是}{不给立案|没有立案}|E
{一会说|先说}{够|}立案{一会又说|后来又说}{证据|材料}不够{就是|总是}拖着|E X
{立案|受案}回执{到现在|至今}{都没给|也没拿到}|E X
{案子|这个案子}{报上去|交上去}{就石沉大海|就没了下文}|X
{办案民警|承办民警}{电话|手机}{从来|一直}{不接|打不通}进展{一概|什么都}不{通报|告诉}|X
{嫌疑人|对方}{天天|每天}在{村里|小区}{晃悠|转悠}{警察|派出所}{就是|却}不{抓|管}|O
{人|嫌疑人}{都|}{找到了|抓到了}{又|却}{放了|放回去了}{钱|损失}{一分没|没}{退|赔}|O
{听说|都说}{对方|嫌疑人}{家里|亲戚}{在|是}{公安|局里}{有人|当官的}{所以|才}{一直|}{不处理|压着}|I O
{对方|那边}{托了关系|找了人}{案子|事情}{就|}{不了了之|压下来了}|I
{明明|分明}是{刑事案件|故意伤害}{却|非要}{按|当}{民事纠纷|治安}{处理|调解}|O C
{做笔录|询问}{时|的时候}{民警|警察}{引导我|逼我}{改口|按他说的讲}|C
{不作为|光说不做}{推三阻四|一推了之}|O E
{鉴定|伤情鉴定}{拖了|等了}{三个月|好几个月}{还没|也没}{出结果|下来}|E
""",
    # Suggestions (polls, meetings, portal): what could be better around them.
    "suggest": """
{希望|建议}{晚上|夜里}{多派人|多来}{巡逻|转转}{小区|我们这}{一到晚上|天一黑}{黑灯瞎火|乌漆嘛黑}|O F
{路灯|路边的灯}{坏了|不亮}{大半年|好几个月}{晚上|夜里}{回家|走路}{心里发毛|害怕}|F
{电动车|电瓶车}{被偷|丢了}{好几辆|好几回}{也没|从来没}{抓到人|破过案}|O
{建议|希望}{多|}{来|到}{菜场|小区|广场}{讲讲|宣传}{防骗|反诈}{知识|的事}|T
{街角|路口}的{监控|探头}{是个摆设|早就不转了}|F
{半夜|晚上}{广场舞|烧烤摊}{吵|闹}得{睡不着|没法睡}{打电话|反映}{多少次|多次}{没用|也没用}|O
{小区|楼下}{乱停车|车乱停}{消防通道|通道}{堵死了|都堵了}{没人|也没人}{来|}{处理|管}|O
{隔壁|楼上}{群租房|出租屋}{住了|挤了}{十几个人|一大帮人}{进进出出|乱哄哄}{的|}{希望|请}{查一查|管一管}|O
{派出所|警务室}门口{停不下车|停车位太少}|F
""",
    # Questions at a 恳谈会, keyed in by staff.
    "question": """
{工地|夜市}{晚上|夜里}噪音{扰民|太大}{打|拨}{了|}{110|12345}{好几次|几次}{还是|依旧}{老样子|没用}{怎么办|能不能管管}|O
{电动车|电瓶车}{在楼道|楼道里}{充电|飞线充电}{着火|出事}{谁来管|怎么管}|F O
{被骗|上当}{的钱|了}{还能不能|能不能}{追回来|要回来}|T
{老人|我妈}{接到|碰到}{诈骗电话|骗子电话}{应该|该}{怎么办|找谁}|T
{群租房|出租屋}{住的人|的人}{杂|多}{晚上|半夜}{吵闹|打架}{有没有|能不能}{人管|查一查}|O
{学校门口|校门口}{接送|放学}{时|的时候}{车乱停|堵成一锅粥}{能不能|可不可以}{派人|安排人}{疏导|管一下}|O
""",
    # Praise only, thanks, or nothing to do with the police's service: "other".
    "praise": """
{民警|警察同志}{辛苦了|真辛苦}{谢谢|感谢}{你们|}|T
{办得|处理得}{又快又好|很快很好}{点赞|给你们点赞}|T
{小伙子|那个女警}{人很好|很耐心}{帮了大忙|帮了我大忙}|T
{没什么|没啥}意见|T
{一切都好|挺好的}{没有|冇得}{意见|问题}|T
""",
    "offtopic": """
{请问|想问一下}{居住证|身份证}{能不能|可以}{网上|手机上}办|T
{这个|这条}短信是{真的|真的吗|不是骗人的}|T
{孩子|小孩}{上学|读书}{的|}{事|问题}{找谁|问哪里}|T
{隔壁|邻居家}{的|}狗{天天|老是}叫|T
{物业费|停车费}{太贵了|涨价了}|T
{你们|派出所}{几点|什么时候}{上班|开门}|T
""",
    # The demo's emerging topic: electric-bike batteries stolen.
    "battery": """
{楼下|车棚里}{电动车|电瓶车}的电瓶{又|}被{偷|人偷}了{报警|报了警}{也没用|没下文}|O
{这个月|最近}{小区里|车棚}{好几户|好多人}{的|}电瓶被{偷|拔走}{了|}{有没有人管|能不能管管}|O
{建议|希望}车棚{装个监控|装探头}电瓶{三天两头|隔几天就}被偷|F
{刚买的|新换的}电瓶{一晚上|一夜}{就|}没了{晚上|夜里}{能不能|可不可以}{多巡逻|来巡一巡}|O
""",
}

CONNECTORS = ("，", "，而且", "。还有就是", "，再加上", "；另外", "，", " ")
PRAISE_FIRST = (
    "态度还行，就是", "民警人倒是客气，可是", "总体还可以，不过", "别的都好，就是",
    "小伙子挺热情的，但", "服务是周到，可", "窗口姑娘蛮客气，只是",
)  # fmt: skip
NOTE_HEADS = ("群众反映：", "回访中群众称：", "群众原话：“", "电话回访，群众表示：", "")
EMOJI = ("😡", "👎", "😤", "🙄", "😭", "🙏", "💢", "😓")

# --- Letters ---------------------------------------------------------------------------------

SALUTATIONS = (
    "尊敬的领导：", "尊敬的公安局领导：\n您好！", "尊敬的局长：", "各位领导：\n你们好！",
    "尊敬的督察部门领导：", "市公安局领导：",
)  # fmt: skip
NAMES = ("张某", "李某", "王某某", "陈某", "刘某", "赵某", "孙某", "周某某")
RELATIVES = ("我父亲", "我母亲", "我爱人", "我儿子", "我女儿", "我岳母", "我老伴")
PLACES = ("越城区某街道某小区", "某菜市场附近", "某工业园区", "某村", "城东某小区", "老城区某弄堂")
INTRO = (
    "我叫{name}，今年{age}岁，家住{place}，是一名普通的{job}。",
    "我是{place}的居民{name}，退休前在{job}岗位上干了三十年。",
    "本人{name}，{age}岁，户籍在外地，在本地打工已有{years}年，现住{place}。",
    "我是{name}的家属，写这封信是想替{rel}把事情说清楚。",
)
JOBS = ("工人", "个体户", "教师", "快递员", "退休职工", "农民", "小店老板")
BACKGROUND = (
    "{rel}身体一直不太好，家里的大事小事基本都是我在跑。",
    "{m}月{d}日晚上九点多，{rel}从厂里下班回家，走到{place}的时候出了事。",
    "事情要从{m}月{d}日说起。那天天气很冷，我早上六点多就出了门。",
    "我们家在这里住了二十多年，邻里之间一向和睦，从来没有跟人红过脸。",
    "当时现场有好几个邻居在，大家都看到了整个经过。",
    "第二天一早我就带着{rel}去了医院，医生说要住院观察几天。",
    "为了这件事，我前前后后请了好几天假，厂里已经扣了我的工资。",
    "{name}跟我们家以前没有任何矛盾，我到现在也想不明白他为什么这样做。",
    "我文化程度不高，信写得不好，请领导多包涵。",
    "后来我又陆陆续续打了几次电话，每次都说在处理。",
    "家里还有两个孩子在上学，一个读初中，一个读小学，开销很大。",
    "那段时间我整夜整夜睡不着，{rel}也天天以泪洗面。",
    "我把当时拍的照片和聊天记录都保存下来了，随时可以提供。",
    "我们是老实本分的人，一辈子没进过几次派出所，这次实在是没有办法了。",
    "{m}月{d}日下午，我又去了一次，值班的同志让我在外面等。",
    "我也去社区反映过，社区的同志很热心，帮我打了几个电话。",
    "这件事对我们家的影响很大，{rel}到现在出门都害怕。",
    "我知道你们工作很忙，要管的事情很多，本来不想给领导添麻烦。",
    "中间我也找过律师咨询，律师说这种情况应该可以处理。",
    "我们小区住的大多是老年人，子女都在外地，平时有个什么事都没人照应。",
    "去年{m}月份，我们这里也发生过类似的事情，最后也是不了了之。",
    "我在网上查过相关的规定，也问过懂行的朋友，大家都说我们的要求不过分。",
    "那天{name}还当着很多人的面骂我们，说得很难听，我就不在信里重复了。",
    "{rel}今年已经七十多岁了，腿脚不方便，每次出门都要人扶着。",
)
REQUESTS = (
    "恳请领导在百忙之中过问一下这件事，给我们一个说法。",
    "希望有关部门能认真调查，依法处理。",
    "我们的要求不高，只希望事情能按规定办，给老百姓一个明白。",
    "请领导能安排人跟我们联系一下，当面把情况讲清楚。",
    "如果我有说得不对的地方，也请领导批评指正。",
)
CLOSINGS = ("此致\n敬礼！", "此致\n敬礼", "谢谢领导！", "盼复。")
SIGNATURES = ("群众：{name}\n{y}年{m}月{d}日", "{name}  敬上\n{m}月{d}日", "一个普通市民 {name}")
LONG_HISTORY = (
    "为了让领导了解前因后果，我把这几年的经过从头说一遍。",
    "{y}年{m}月，我们家因为宅基地的事和{name}家发生过口角，当时经村里调解，双方签了字。",
    "之后两家相安无事了一段时间，逢年过节也互相走动。",
    "{y}年{m}月{d}日，{name}的儿子开车把我家门口的围墙撞坏了，说好赔偿，一直没有兑现。",
    "我们多次上门去谈，对方要么不开门，要么说没钱，后来干脆换了手机号。",
    "村干部也出面协调过两次，每次都说下个月一定给，结果一拖再拖。",
    "那年冬天{rel}生了一场大病，花了不少钱，家里实在拿不出精力再去追这件事。",
)

# --- Styles ----------------------------------------------------------------------------------

# Homophone typos: (right, wrong). canon() maps every wrong back to its right.
TYPOS = (("已经", "以经"), ("态度", "太度"), ("办理", "办里"), ("在", "再"), ("的", "得"))
# Traditional characters of the characters the templates use (one each; no chains).
_SIMP = (
    "态度这说话让问时间还没来报警钱东车电动瓶偷关系对么讲开门后进处块刘张陈赵孙周"
    "们个为实证办务员窗机场区乡镇乐见规则费罚单记录仪远难听里会结单凭样几条专书"
    "应该当发现经过给红过复查询谁该办头点赞谢辛觉觉场无调鉴伤执诉论证继续换轮"
    "视听认识领导请长队阳边饭馆杂闹灯亮监控处决议响厅厕锁号坏修贵涨钟两岁亲邻矛盾"
    "业产读学龄脑卡据依财辆样统过还没达测显总体类别饮间阶帮变杀红颈应扰违线补边"
)
_TRAD = (
    "態度這說話讓問時間還沒來報警錢東車電動瓶偷關係對麼講開門後進處塊劉張陳趙孫周"
    "們個為實證辦務員窗機場區鄉鎮樂見規則費罰單記錄儀遠難聽裡會結單憑樣幾條專書"
    "應該當發現經過給紅過復查詢誰該辦頭點讚謝辛覺覺場無調鑒傷執訴論證繼續換輪"
    "視聽認識領導請長隊陽邊飯館雜鬧燈亮監控處決議響廳廁鎖號壞修貴漲鐘兩歲親鄰矛盾"
    "業產讀學齡腦卡據依財輛樣統過還沒達測顯總體類別飲間階幫變殺紅頸應擾違線補邊"
)
TO_TRAD = {s: t for s, t in zip(_SIMP, _TRAD, strict=True) if s != t}
TO_SIMP = {t: s for s, t in TO_TRAD.items()}
_TO_SIMP_TABLE = str.maketrans(TO_SIMP)
_TO_TRAD_TABLE = str.maketrans(TO_TRAD)
_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
_NOT_WORD = re.compile(r"[\W_]+")


def traditional(text: str) -> str:
    return text.translate(_TO_TRAD_TABLE)


def canon(text: str) -> str:
    """The text with the styles undone: half-width, Simplified, typos corrected, only
    letters and digits. Used to find cores again; never shown."""
    text = unicodedata.normalize("NFKC", text).translate(_TO_SIMP_TABLE)
    for right, wrong in TYPOS:
        text = text.replace(wrong, right)
    return _NOT_WORD.sub("", text)


def _expand(line: str) -> list[str]:
    parts = re.split(r"\{([^}]*)\}", line)
    options = [[p] if i % 2 == 0 else p.split("|") for i, p in enumerate(parts)]
    return ["".join(combo) for combo in itertools.product(*options)]


@cache
def cores() -> dict[str, list[tuple[list[str], list[str]]]]:
    """Every core line by register: (its expansions, its ranked tags)."""
    found = {}
    for register, block in CORES.items():
        rows = []
        for line in block.strip().splitlines():
            pattern, codes = line.rsplit("|", 1)
            rows.append((_expand(pattern), [CODES[c] for c in codes.split()]))
        found[register] = rows
    return found


@cache
def _registry() -> tuple[re.Pattern, dict[str, list[str]]]:
    tags_of: dict[str, list[str]] = {}
    for rows in cores().values():
        for texts, tags in rows:
            for text in texts:
                if tags_of.setdefault(canon(text), tags) != tags:
                    raise ValueError(f"core {text!r} has two sets of tags")
    pattern = re.compile("|".join(re.escape(k) for k in sorted(tags_of, key=len, reverse=True)))
    return pattern, tags_of


def label_of(text: str) -> list[str] | None:
    """The true ranked tags of a text this module generated (the tags of the cores found in
    it, in order; "other" only when nothing else is found); None when it holds no core."""
    pattern, tags_of = _registry()
    found: list[str] = []
    for match in pattern.finditer(canon(text or "")):
        found.extend(t for t in tags_of[match.group()] if t not in found)
    if not found:
        return None
    tags = [t for t in found if t != OTHER]
    return tags[:2] if tags else [OTHER]


# --- Building texts --------------------------------------------------------------------------


def _fill(rng: random.Random, template: str) -> str:
    return template.format(
        name=rng.choice(NAMES),
        rel=rng.choice(RELATIVES),
        place=rng.choice(PLACES),
        job=rng.choice(JOBS),
        age=rng.randint(23, 78),
        years=rng.randint(2, 15),
        y=rng.randint(2019, 2025),
        m=rng.randint(1, 12),
        d=rng.randint(1, 28),
    )


def _core(rng: random.Random, registers: tuple[str, ...]) -> tuple[str, list[str]]:
    """A core line of one of `registers`, each line as likely as another, and one of its
    expansions."""
    texts, tags = rng.choice(cores()[rng.choice(registers)])
    return rng.choice(texts), tags


def _complaint(rng: random.Random, registers: tuple[str, ...], two: float):
    """One core, or two with distinct reasons joined (primary first)."""
    text, tags = _core(rng, registers)
    if len(tags) == 1 and tags[0] != OTHER and rng.random() < two:
        for _ in range(5):
            more, extra = _core(rng, registers)
            if len(extra) == 1 and extra[0] not in (*tags, OTHER):
                return text + rng.choice(CONNECTORS) + more, [*tags, *extra]
    return text, list(tags)


def _restyle(rng: random.Random, text: str, *, typo: float, trad: float, emoji: float) -> str:
    if rng.random() < typo:
        right, wrong = rng.choice([p for p in TYPOS if p[0] in text] or [TYPOS[0]])
        text = text.replace(right, wrong, rng.choice((1, 2, -1)))
    if rng.random() < trad:
        text = traditional(text)
    if rng.random() < 0.4:
        text = text.translate(_FULL_WIDTH)
    if rng.random() < emoji:
        mark = rng.choice(EMOJI) * rng.choice((1, 1, 2, 3))
        text = mark + text if rng.random() < 0.2 else text + mark
    return text


def _sentence(rng: random.Random, core: str) -> str:
    end = rng.choice(("。", "！", "。", "？", "…", "!!"))
    return core + ("" if core.endswith(("。", "！", "？", "”")) else end)


def _short(rng: random.Random, source: str) -> tuple[str, list[str]]:
    """A survey comment, poll comment, meeting question or short opinion."""
    registers, two = {
        "survey": (("spoken", "sms", "sms", "dialect", "praise", "offtopic"), 0.15),
        "poll": (("suggest", "suggest", "spoken", "praise", "battery"), 0.1),
        "meeting": (("question", "question", "suggest", "battery"), 0.05),
        "opinion": (("spoken", "suggest", "dialect", "battery"), 0.3),
        "case": (("case",), 0.3),
    }[source]
    text, tags = _complaint(rng, registers, two)
    style = rng.random()
    if tags != [OTHER] and style < 0.2 and source != "meeting":
        text = rng.choice(PRAISE_FIRST) + text
    elif style < 0.45 and source in ("survey", "poll"):
        text = _NOT_WORD.sub(rng.choice(("", " ", "")), text)  # SMS: no punctuation
    elif source == "meeting":
        head = rng.choice(("群众提问：", "居民问：", "", "某小区居民反映"))
        text = head + text + ("？" if rng.random() < 0.6 else "。")
    else:
        text = _sentence(rng, text)
    emoji = 0.1 if source == "survey" else 0.03
    return _restyle(rng, text, typo=0.15, trad=0.06, emoji=emoji), tags


def _note(rng: random.Random) -> tuple[str, list[str]]:
    """An evaluator's note of a callback: third person, or the citizen's words quoted."""
    if rng.random() < 0.5:
        text, tags = _complaint(rng, ("note",), 0.2)
        text += rng.choice(("。", "。", "", "；"))
    else:
        text, tags = _complaint(rng, ("spoken", "spoken", "sms", "dialect", "case"), 0.25)
        head = rng.choice(NOTE_HEADS)
        if tags != [OTHER] and rng.random() < 0.15:
            text = "民警总体还可以，但" + text
        text = head + text + ("”" if head.endswith("“") else "。")
    return _restyle(rng, text, typo=0.08, trad=0.0, emoji=0.0), tags


def _letter(rng: random.Random, core: str, *, very_long: bool = False) -> str:
    """A letter around a complaint core: salutation, who writes, background, the core
    somewhere in the middle, requests, closing."""
    target = rng.randint(8000, 9500) if very_long else int(rng.triangular(300, 3000, 700))
    before = [_fill(rng, rng.choice(INTRO))]
    after = []
    unused = []
    while sum(map(len, before + after)) < target:
        if very_long and rng.random() < 0.3:
            piece = rng.choice(LONG_HISTORY)
        else:
            # Each background sentence once before any comes again.
            unused = unused or rng.sample(BACKGROUND, len(BACKGROUND))
            piece = unused.pop()
        (before if rng.random() < 0.6 else after).append(_fill(rng, piece))
    paragraphs, paragraph = [], []
    for piece in before:
        paragraph.append(piece)
        if rng.random() < 0.3:
            paragraphs.append("".join(paragraph))
            paragraph = []
    paragraph.append(_sentence(rng, core))
    for piece in after:
        paragraph.append(piece)
        if rng.random() < 0.3:
            paragraphs.append("".join(paragraph))
            paragraph = []
    paragraphs.append("".join(paragraph))
    paragraphs.append("".join(rng.sample(REQUESTS, rng.randint(1, 2))))
    return "\n".join(
        [
            rng.choice(SALUTATIONS),
            *("　　" + p for p in paragraphs if p),
            rng.choice(CLOSINGS),
            _fill(rng, rng.choice(SIGNATURES)),
        ]
    )


def letter_around(rng: random.Random, core: str) -> str:
    """A letter (300 to 3,000 characters) around a complaint written elsewhere."""
    return _letter(rng, core)


def _long(rng: random.Random, source: str) -> tuple[str, list[str]]:
    registers = ("case", "case", "spoken") if source == "case" else ("spoken", "suggest")
    text, tags = _complaint(rng, registers, 0.35)
    letter = _letter(rng, text, very_long=rng.random() < 0.04)
    return _restyle(rng, letter, typo=0.1, trad=0.03, emoji=0.0), tags


def _one(rng: random.Random, source: str) -> tuple[str, list[str]]:
    if source == "callback":
        return _note(rng)
    if source in ("opinion", "case") and rng.random() < (0.55 if source == "opinion" else 0.7):
        return _long(rng, source)
    return _short(rng, source)


def _reads_as_rating(text: str) -> bool:
    if re.search(r"[0-9０-９]|满意|滿意", text):
        return True
    return parse_reply(text).kind != ReplyKind.UNPARSED


def corpus_texts(
    rng: random.Random,
    source: str,
    n: int,
    *,
    max_chars: int | None = None,
    mood: str | None = None,
    with_tag: str | None = None,
) -> list[tuple[str, list[str]]]:
    """`n` texts of `source` with their true ranked tags. `max_chars` leaves out longer
    texts (a service's limit); `mood` "praise" keeps texts tagged "other" only (praise,
    thanks, off-topic), "complaint" the others; `with_tag` those carrying that tag. Survey
    comments hold no digit and nothing the SMS parser reads as a rating, so an SMS answer's
    rating is read from its head alone."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}")
    if mood not in (None, "praise", "complaint"):
        raise ValueError(f"unknown mood {mood!r}")
    texts = []
    while len(texts) < n:
        text, tags = _one(rng, source)
        if max_chars is not None and len(text) > max_chars:
            continue
        if mood is not None and (tags == [OTHER]) != (mood == "praise"):
            continue
        if with_tag is not None and with_tag not in tags:
            continue
        if source == "survey" and _reads_as_rating(text):
            continue
        texts.append((text, tags))
    return texts


def topic_texts(rng: random.Random, n: int, *, survey: bool = False) -> list[tuple[str, list]]:
    """`n` texts about the demo's emerging topic (electric-bike batteries stolen)."""
    texts = []
    for _ in range(n):
        text, tags = _core(rng, ("battery",))
        if not survey and rng.random() < 0.3:
            text = rng.choice(PRAISE_FIRST) + text
        texts.append((_restyle(rng, _sentence(rng, text), typo=0.1, trad=0.0, emoji=0.0), tags))
    return texts
