from tests.factories import create_assistant


async def test_create_then_get_round_trips(client, tenant):
    created = await create_assistant(client, tenant)
    response = await client.get(f"/api/assistants/{created['id']}", headers=tenant.headers)
    assert response.status_code == 200
    assert response.json()["llmPrompt"] == "You are a helpful customer support agent..."
