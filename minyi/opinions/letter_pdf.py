"""The written answer (书面回函) as an A4 PDF, ready for a window envelope: the addressee at
the top left, then the opinion's number, the question quoted, the answer, the unit and the
day. reportlab's built-in CID font draws the Chinese, as in the community colour report."""

import io
from xml.sax.saxutils import escape

from django.utils import timezone
from django.utils.translation import gettext as _
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

from minyi.opinions.services.letters import Letter

LETTER_FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(LETTER_FONT))

_BODY = ParagraphStyle("letter", fontName=LETTER_FONT, fontSize=11.5, leading=19, wordWrap="CJK")
_TITLE = ParagraphStyle("letter-title", parent=_BODY, fontSize=17, leading=26, alignment=1)
_RIGHT = ParagraphStyle("letter-right", parent=_BODY, alignment=2)
_QUOTE = ParagraphStyle("letter-quote", parent=_BODY, leftIndent=8 * mm, textColor="#444444")


def _para(text: str, style=_BODY) -> Paragraph:
    return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)


def _day(value) -> str:
    return f"{timezone.localtime(value):%Y年%m月%d日}"


def letter_pdf(letter: Letter) -> bytes:
    out = io.BytesIO()
    doc = SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=25 * mm,
        rightMargin=25 * mm,
        topMargin=22 * mm,
        bottomMargin=22 * mm,
        title=_("群众来信答复函 %(no)s") % {"no": letter.number},
    )
    name = letter.name or _("来信群众")
    story = [
        _para(letter.address),
        _para(_("%(name)s 收") % {"name": name}),
        Spacer(1, 14 * mm),
        _para(_("群众来信答复函"), _TITLE),
        Spacer(1, 4 * mm),
        _para(_("受理编号：%(no)s") % {"no": letter.number}, _RIGHT),
        Spacer(1, 4 * mm),
        _para(_("%(name)s：") % {"name": name}),
        _para(
            _("您于 %(day)s 反映的%(kind)s已收悉，原文摘录如下：")
            % {"day": _day(letter.received_on), "kind": letter.kind}
        ),
        Spacer(1, 2 * mm),
        _para(f"“{letter.question}”", _QUOTE),
        Spacer(1, 4 * mm),
        _para(_("经办理，现答复如下：")),
        _para(letter.answer),
        Spacer(1, 4 * mm),
        _para(_("如对答复有意见，可凭受理编号来信或来电反映。感谢您对公安工作的关心和支持。")),
        Spacer(1, 14 * mm),
        _para(letter.unit, _RIGHT),
        _para(_day(letter.answered_on), _RIGHT),
    ]
    doc.build(story)
    return out.getvalue()
