"""`ApplicationError`: how services refuse. Each has a stable machine code for the API and a
human message (translated; Chinese in the UI) for pages."""

from django.utils.translation import gettext_lazy as _

from minyi.core.masking import mask_text


class ApplicationError(Exception):
    """A refusal the caller can act on. Never a server error.

    `code` is stable and machine-readable (snake_case); `message` is for people; `field` names
    the input at fault when there is one; `status` is the HTTP status the API answers with.
    """

    status = 400

    def __init__(self, code: str, message, *, field: str | None = None, status: int | None = None):
        super().__init__(str(message))
        self.code = code
        self.message = message
        self.field = field
        if status is not None:
            self.status = status

    def as_dict(self) -> dict:
        # A message may quote the input (an unknown stage, a name): never a number unmasked.
        body = {"code": self.code, "message": mask_text(str(self.message))}
        if self.field:
            body["field"] = self.field
        return body


class NotFound(ApplicationError):
    """Absent, or outside the actor's subtree: the two look the same on purpose."""

    status = 404

    def __init__(self, message=None):
        super().__init__("not_found", message or _("找不到该记录，或您无权查看。"))


class PermissionDenied(ApplicationError):
    status = 403

    def __init__(self, message=None):
        super().__init__("permission_denied", message or _("您的角色无权执行此操作。"))
