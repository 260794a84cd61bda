"""Liveness, readiness, and the published API description."""

from typing import Any

import pytest
from fastapi.routing import APIRoute
from redis.asyncio import Redis
from starlette.routing import Route

ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
CRUD = [
    ("get", "/api/assistants"),
    ("post", "/api/assistants"),
    ("get", "/api/assistants/{assistant_id}"),
    ("put", "/api/assistants/{assistant_id}"),
    ("delete", "/api/assistants/{assistant_id}"),
    ("get", "/api/models"),
]


@pytest.fixture(scope="module")
async def openapi(client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def error_schema(operation: dict[str, Any], status: str) -> dict[str, Any]:
    return operation["responses"][status]["content"]["application/json"]["schema"]


async def test_healthz_answers_ok_without_touching_dependencies(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_reports_database_and_redis_ok(client):
    response = await client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "redis": "ok"}


async def test_readyz_is_503_naming_the_failed_dependency_when_redis_is_down(
    client, app, monkeypatch
):
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    monkeypatch.setattr(app.state.resources, "redis", dead)
    try:
        response = await client.get("/readyz")
    finally:
        await dead.aclose()

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("error")


async def test_openapi_documents_every_crud_operation(openapi):
    for method, path in CRUD:
        assert method in openapi["paths"].get(path, {}), (method, path)


async def test_every_api_operation_documents_401_and_400_in_the_error_envelope(openapi):
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)
            assert error_schema(operation, "400") == ERROR_REF, (method, path)
            if path.startswith("/api/"):
                assert error_schema(operation, "401") == ERROR_REF, (method, path)
                assert operation["security"] == [{"bearer": []}], (method, path)


async def test_operations_on_one_assistant_document_404_assistant_not_found(openapi):
    for method, operation in openapi["paths"]["/api/assistants/{assistant_id}"].items():
        assert error_schema(operation, "404") == ERROR_REF, method
        assert "ASSISTANT_NOT_FOUND" in operation["responses"]["404"]["description"]


async def test_create_and_update_document_the_provider_and_model_errors(openapi):
    for method, path in (("post", "/api/assistants"), ("put", "/api/assistants/{assistant_id}")):
        description = openapi["paths"][path][method]["responses"]["400"]["description"]
        for code in ("VALIDATION_ERROR", "INVALID_PROVIDER", "INVALID_MODEL"):
            assert code in description, (method, code)


async def test_error_response_schema_is_the_spec_envelope(openapi):
    schemas = openapi["components"]["schemas"]
    envelope = schemas["ErrorResponse"]
    assert envelope["required"] == ["error"]
    body = schemas[envelope["properties"]["error"]["$ref"].rsplit("/", 1)[-1]]
    assert {"code", "message"} <= set(body["required"])
    assert "HTTPValidationError" not in schemas


async def test_bearer_security_scheme_is_declared(openapi):
    scheme = openapi["components"]["securitySchemes"]["bearer"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"


async def test_documented_bodies_use_the_spec_camel_case_names(openapi):
    schemas = openapi["components"]["schemas"]
    create = schemas["AssistantCreate"]
    assert set(create["required"]) == {"name", "llmProvider", "llmModel"}
    assert create["additionalProperties"] is False
    assert create["properties"]["llmProvider"]["enum"] == ["openai", "anthropic", "google"]
    resource = schemas["Assistant"]["properties"]
    assert resource["createdAt"]["format"] == "date-time"
    assert resource["id"]["pattern"] == "^[0-9a-f]{24}$"


async def test_the_list_documents_its_query_parameters_and_their_limits(openapi):
    """The handler validates its query string itself (api/query.py); the document still shows
    each parameter as FastAPI would."""
    parameters = {p["name"]: p for p in openapi["paths"]["/api/assistants"]["get"]["parameters"]}
    schemas = openapi["components"]["schemas"]

    assert set(parameters) == {"page", "limit", "teamId", "sortBy", "order"}
    assert all(p["in"] == "query" and p["required"] is False for p in parameters.values())
    assert parameters["page"]["schema"]["minimum"] == 1
    assert parameters["limit"]["schema"]["maximum"] == 100
    assert parameters["limit"]["schema"]["default"] == 20
    assert parameters["sortBy"]["schema"]["$ref"] == "#/components/schemas/SortBy"
    assert schemas["SortBy"]["enum"] == ["createdAt", "name", "lastUsed"]
    assert {"$ref": "#/components/schemas/SortOrder"} in parameters["order"]["schema"]["anyOf"]
    assert schemas["SortOrder"]["enum"] == ["asc", "desc"]


async def test_update_documents_that_required_fields_cannot_be_null(openapi):
    update = openapi["components"]["schemas"]["AssistantUpdate"]["properties"]
    for field in ("name", "llmProvider", "llmModel"):
        assert "anyOf" not in update[field] and update[field]["type"] == "string", field
    assert {"type": "null"} in update["description"]["anyOf"]


async def test_docs_page_serves_swagger_ui_for_the_openapi_document(client):
    response = await client.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "swagger-ui" in response.text.lower()
    assert "/openapi.json" in response.text


async def test_every_operation_is_a_route_of_the_app_router_itself(app, openapi):
    """`api.main.add_routes`: no included-router node for FastAPI to walk on every request,
    and every documented operation is still served."""
    assert all(isinstance(route, Route) for route in app.router.routes)
    served = {
        (method.lower(), route.path)
        for route in app.router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    documented = {(method, path) for path, item in openapi["paths"].items() for method in item}
    assert documented <= served
    assert ("post", "/api/assistants/{assistant_id}/execute") in documented
