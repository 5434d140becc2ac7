from django.conf import settings
from django.http import JsonResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext_lazy as _


class LanguageMiddleware:
    """Simplified Chinese unless the person chose another language (the language switcher's
    cookie). Unlike Django's LocaleMiddleware, the browser's Accept-Language is not followed:
    a bureau PC with an English Windows should still show the Chinese console."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.available = {code for code, _ in settings.LANGUAGES}

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in self.available else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        patch_vary_headers(response, ("Cookie",))
        return response


# Stable codes for answers the API's own handlers did not write (a URL that does not exist, a
# method the route does not take, a URL too long, a server error).
_API_CODES = {
    400: ("bad_request", _("请求不正确。")),
    401: ("unauthenticated", _("请先登录或提供有效的 API 密钥。")),
    403: ("forbidden", _("没有权限执行此操作。")),
    404: ("not_found", _("接口不存在，请核对地址（见 /api/docs）。")),
    405: ("method_not_allowed", _("该接口不支持此请求方法。")),
    413: ("request_too_large", _("请求体过大，请分批发送。")),
    414: ("uri_too_long", _("请求地址过长。")),
    429: ("too_many_requests", _("请求过于频繁，请稍后再试。")),
    500: ("server_error", _("服务器内部错误，已记录，请稍后重试。")),
}


class ApiJsonErrorsMiddleware:
    """Every answer under /api/ is JSON with a `code`, including the ones Django or the router
    write before any API handler runs (404, 405, a CSRF refusal, a server error). A URL longer
    than API_MAX_URL_LENGTH gets 414 here, below any front server's own limit, so a client
    sees the same JSON whatever server is in front."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/"):
            return self.get_response(request)
        if len(request.get_full_path()) > settings.API_MAX_URL_LENGTH:
            return self._json(414)
        response = self.get_response(request)
        content_type = response.get("Content-Type", "")
        if response.status_code >= 400 and not content_type.startswith("application/json"):
            json_response = self._json(response.status_code)
            if "Allow" in response:
                json_response["Allow"] = response["Allow"]
            return json_response
        return response

    @staticmethod
    def _json(status: int) -> JsonResponse:
        code, message = _API_CODES.get(
            status, ("http_error", _("请求未能完成（HTTP %(status)d）。") % {"status": status})
        )
        return JsonResponse(
            {"code": code, "message": str(message)},
            status=status,
            json_dumps_params={"ensure_ascii": False},
        )
