"""One place that renders every error in the spec's envelope."""

import re
from functools import lru_cache
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from shared.errors import AppError, ValidationFailed
from shared.schemas import ErrorResponse


def _field_error(error: dict[str, Any]) -> dict[str, Any]:
    if error.get("type") == "json_invalid":  # its location is a character offset, not a field
        reason = error.get("ctx", {}).get("error", "invalid JSON")
        return {"field": "body", "message": f"The body is not valid JSON: {reason}"}
    location = [str(part) for part in error.get("loc", ()) if part != "body"]
    return {"field": ".".join(location) or "body", "message": error.get("msg", "invalid")}


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [_field_error(error) for error in exc.errors()]


@lru_cache(maxsize=256)
def _path_regex(path: str) -> re.Pattern[str]:
    return compile_path(path)[0]


def _allowed_methods(request: Request) -> str:
    """Every method the path answers to; Starlette's own `Allow` names only one route's."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        if route.path and route.methods and _path_regex(route.path).match(request.url.path):
            methods |= route.methods
    return ", ".join(sorted(methods))


def _http_code(status: int) -> str:
    return {
        400: "VALIDATION_ERROR",
        404: "NOT_FOUND",
        405: "METHOD_NOT_ALLOWED",
        413: "PAYLOAD_TOO_LARGE",
        415: "UNSUPPORTED_MEDIA_TYPE",
    }.get(status, "HTTP_ERROR")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        headers = getattr(exc, "headers", None)
        if exc.status_code == 401:  # RFC 9110: a 401 names the scheme it wants
            headers = {"WWW-Authenticate": "Bearer", **(headers or {})}
        return JSONResponse(exc.to_body(), status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = _field_errors(exc)
        fields = ", ".join(d["field"] for d in details[:5])
        error = ValidationFailed(f"Invalid request: check {fields}", details=details)
        return JSONResponse(error.to_body(), status_code=error.status_code)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        body = {"error": {"code": _http_code(exc.status_code), "message": str(exc.detail)}}
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
        return JSONResponse(body, status_code=exc.status_code, headers=headers)


def error_responses(*errors: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for a route: each status it can answer with, in the error envelope."""
    by_status: dict[int, list[str]] = {}
    documented: tuple[type[AppError], ...] = (ValidationFailed, *errors)
    for error in documented:
        by_status.setdefault(error.status_code, []).append(error.code)
    return {
        status: {"model": ErrorResponse, "description": " or ".join(codes)}
        for status, codes in sorted(by_status.items())
    }
