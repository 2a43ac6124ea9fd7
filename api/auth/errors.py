"""Authentication errors, answered as JSON for the API and as pages (or a redirect) for people.

``/api/*`` (or a client that asks for JSON only) gets ``{"detail": "..."}`` with 401, 403 or
429. A browser on an HTML route that is not signed in is sent to ``/login?next=<where it was>``;
other refusals get a short Vietnamese page.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from fastapi import HTTPException
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.requests import Request
from starlette.responses import Response

NOT_SIGNED_IN = "Bạn chưa đăng nhập hoặc phiên làm việc đã hết hạn."
INVALID_API_KEY = "Mã truy cập API không hợp lệ, đã bị thu hồi hoặc tài khoản đã bị khoá."
FORBIDDEN = "Tài khoản của bạn không có quyền thực hiện thao tác này."
CSRF_FAILED = (
    "Biểu mẫu đã hết hạn hoặc không hợp lệ (thiếu mã CSRF). Hãy tải lại trang rồi thử lại."
)


class AuthError(HTTPException):
    """Base of the errors below; ``title`` heads the HTML page."""

    title = "Không thể tiếp tục"


class NotSignedIn(AuthError):
    title = "Cần đăng nhập"

    def __init__(self, detail: str = NOT_SIGNED_IN) -> None:
        super().__init__(401, detail, headers={"WWW-Authenticate": "Bearer"})


class NotAllowed(AuthError):
    title = "Không có quyền truy cập"

    def __init__(self, detail: str = FORBIDDEN) -> None:
        super().__init__(403, detail)


class CsrfFailed(AuthError):
    title = "Biểu mẫu không hợp lệ"

    def __init__(self, detail: str = CSRF_FAILED) -> None:
        super().__init__(403, detail)


def wants_json(request: Request) -> bool:
    if request.url.path.startswith("/api/"):
        return True
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def safe_next(value: str | None, default: str = "/") -> str:
    """``value`` when it is a path on this site, else ``default`` (no open redirect).

    Refuses absolute and scheme-relative URLs, backslashes (browsers read ``/\\evil`` as
    ``//evil``) and control characters (browsers drop tabs and newlines before parsing).
    """
    if not value or not value.startswith("/") or value.startswith("//"):
        return default
    if "\\" in value or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


def login_url(request: Request) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?" + urlencode({"next": safe_next(here)})


def error_page(
    request: Request, status: int, title: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    context = {"title": title, "message": message}
    return templates.TemplateResponse(
        request, "auth/error.html", context, status_code=status, headers=headers
    )


async def handle_auth_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AuthError)
    headers = dict(exc.headers or {})
    if wants_json(request):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)
    if isinstance(exc, NotSignedIn):
        return RedirectResponse(login_url(request), status_code=303)
    return error_page(request, exc.status_code, exc.title, str(exc.detail), headers)
