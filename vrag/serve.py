"""``vrag serve``: an HTTP JSON API over one knowledge base (FastAPI + uvicorn).

``GET /search``, ``POST /ask``, ``GET /status``, ``GET /videos``, ``GET /videos/{id}/transcript``,
``POST /index`` (a background job; ``GET /jobs/{id}`` is its progress), ``GET /media/{video_id}``
(the indexed file, with HTTP range requests); OpenAPI at ``/openapi.json``. Answers are the CLI's
``--json`` (one code path: :mod:`vrag.service_ops`); errors are ``{"error": "one line"}`` with a 4xx.

Binds to this machine by default; another ``--host`` needs a token (``--token`` or ``VRAG_TOKEN``)
that every request sends as ``Authorization: Bearer TOKEN``. FastAPI is imported only when an app
is made (``vrag --help`` does not load it).
"""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING, Any

from .errors import ConfigError, VragError

if TYPE_CHECKING:
    from .kb import KnowledgeBase

__all__ = ["LOOPBACK", "check_bind", "create_app", "run", "bearer_guard"]

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def check_bind(host: str, port: int, token: str | None, command: str = "vrag serve") -> None:
    """Refuse a port out of range, and a non-local ``host`` without a token."""
    if not 0 < port < 65536:
        raise ConfigError(f"--port {port}: use a port between 1 and 65535")
    if host not in LOOPBACK and not token:
        raise ConfigError(f"--host {host}: {command} on a non-local address needs a token (--token TOKEN or "
                          "VRAG_TOKEN); clients then send `Authorization: Bearer TOKEN`")


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Any:
    from fastapi.responses import JSONResponse

    return JSONResponse({"error": " ".join(str(message).split())}, status_code=status, headers=headers)


def bearer_guard(app: Any, token: str | None) -> None:
    """Every request to ``app`` (a Starlette/FastAPI app) must carry ``Authorization: Bearer token``."""
    if not token:
        return

    @app.middleware("http")
    async def _auth(request: Any, call_next: Any) -> Any:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
            return _error(401, "missing or wrong token: send `Authorization: Bearer TOKEN`",
                          {"WWW-Authenticate": "Bearer"})
        return await call_next(request)


def _validation_message(exc: Any) -> str:
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "body", "path"))
    got = f" (got {first['input']!r})" if "input" in first and not isinstance(first["input"], (dict, list)) else ""
    return f"{where or 'request'}: {first.get('msg', 'invalid')}{got}"


def _install_errors(app: Any) -> None:
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    from .serve_routes import NotFound

    @app.exception_handler(VragError)
    async def _vrag(request: Any, exc: VragError) -> Any:
        return _error(404 if isinstance(exc, NotFound) else 400, str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Any, exc: Any) -> Any:
        return _error(422, _validation_message(exc))

    @app.exception_handler(HTTPException)
    async def _http(request: Any, exc: Any) -> Any:
        return _error(exc.status_code, exc.detail, getattr(exc, "headers", None))


def create_app(kb: KnowledgeBase, token: str | None = None) -> Any:
    """The FastAPI app serving ``kb``; with ``token``, every request must carry it as a bearer token."""
    from fastapi import FastAPI

    from . import __version__
    from .serve_routes import add_routes

    app = FastAPI(title="vrag", version=__version__,
                  description="A local video knowledge base: search, ask, transcripts, media, indexing jobs.")
    _install_errors(app)
    bearer_guard(app, token)
    add_routes(app, kb)
    return app


def run(kb: KnowledgeBase, host: str = "127.0.0.1", port: int = 8000, token: str | None = None) -> None:
    """Serve ``kb`` with uvicorn until Ctrl-C."""
    import uvicorn

    check_bind(host, port, token)
    uvicorn.run(create_app(kb, token), host=host, port=port, log_level="warning")
