"""Files people upload (evidence, photos): judged by their first bytes, never by the name or
the browser's word for them."""

from django.conf import settings
from django.utils.translation import gettext as _

from minyi.core.errors import ApplicationError

JPEG = (b"\xff\xd8\xff", "image/jpeg", ".jpg")
PNG = (b"\x89PNG\r\n\x1a\n", "image/png", ".png")
PDF = (b"%PDF-", "application/pdf", ".pdf")


def check_uploads(
    files, *, kinds, max_files: int, max_bytes: int, field: str, too_many, wrong_type
):
    """[(upload, content_type, suffix)] for `files`, or ApplicationError naming the first file
    at fault. `too_many` and `wrong_type` are the messages (with %(n)d / %(name)s)."""
    files = list(files or [])
    if len(files) > max_files:
        raise ApplicationError("too_many_files", too_many % {"n": max_files}, field=field)
    checked = []
    for upload in files:
        if upload.size > max_bytes:
            raise ApplicationError(
                "file_too_large",
                _("文件“%(name)s”超过 %(mb)d MB。")
                % {"name": upload.name, "mb": max_bytes // 2**20},
                field=field,
            )
        head = upload.read(8)
        upload.seek(0)
        kind = next((k for k in kinds if head.startswith(k[0])), None)
        if kind is None:
            raise ApplicationError("file_type", wrong_type % {"name": upload.name}, field=field)
        checked.append((upload, kind[1], kind[2]))
    return checked


def check_photos(photos, *, max_files: int, field: str = "photos"):
    """Citizens' and staff's photos (an opinion's, an action update's): JPEG or PNG, each
    within MINYI_OPINION_PHOTO_MAX_BYTES, at most `max_files`."""
    return check_uploads(
        photos,
        kinds=(JPEG, PNG),
        max_files=max_files,
        max_bytes=settings.OPINION_PHOTO_MAX_BYTES,
        field=field,
        too_many=_("最多上传 %(n)d 张照片。"),
        wrong_type=_("文件“%(name)s”不是 JPG 或 PNG 照片。"),
    )
