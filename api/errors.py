"""One place that renders every error in the spec's envelope."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.errors import AppError, ValidationFailed
from shared.schemas import ErrorResponse


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for error in exc.errors():
        location = [str(part) for part in error.get("loc", ()) if part not in ("body",)]
        details.append({"field": ".".join(location), "message": error.get("msg", "invalid")})
    return details


def _http_code(status: int) -> str:
    return {
        404: "NOT_FOUND",
        405: "METHOD_NOT_ALLOWED",
        413: "PAYLOAD_TOO_LARGE",
        415: "UNSUPPORTED_MEDIA_TYPE",
    }.get(status, "HTTP_ERROR")


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        return JSONResponse(
            exc.to_body(), status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = _field_errors(exc)
        fields = ", ".join(d["field"] or "body" for d in details[:5])
        error = ValidationFailed(f"Invalid request: check {fields}", details=details)
        return JSONResponse(error.to_body(), status_code=error.status_code)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        body = {"error": {"code": _http_code(exc.status_code), "message": str(exc.detail)}}
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


def error_responses(*errors: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for a route: each status it can answer with, in the error envelope."""
    by_status: dict[int, list[str]] = {}
    for error in (ValidationFailed, *errors):
        by_status.setdefault(error.status_code, []).append(error.code)
    return {
        status: {"model": ErrorResponse, "description": " or ".join(codes)}
        for status, codes in sorted(by_status.items())
    }
