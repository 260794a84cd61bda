"""OpenAPI tweaks: validation errors are documented as our 400 envelope, and routes as bearer-protected."""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

_ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
REF_TEMPLATE = "#/components/schemas/{model}"


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR_REF}}}


def install_openapi(app: FastAPI, extra_models: tuple[type[BaseModel], ...] = ()) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {})
        components.setdefault("securitySchemes", {})["bearer"] = {
            "type": "http",
            "scheme": "bearer",
            "description": "A company API key",
        }
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                responses.pop("422", None)
                responses.setdefault("400", _error_response("VALIDATION_ERROR"))
                if path.startswith("/api/"):
                    operation["security"] = [{"bearer": []}]
        for model in extra_models:  # what a handler parses itself, referenced by openapi_extra
            definition = model.model_json_schema(by_alias=True, ref_template=REF_TEMPLATE)
            for name, nested in definition.pop("$defs", {}).items():
                components.setdefault("schemas", {})[name] = nested
            components.setdefault("schemas", {})[model.__name__] = definition
        for name in ("HTTPValidationError", "ValidationError"):
            components.get("schemas", {}).pop(name, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
