"""The dashboard's generated JSDoc types (`static/api-types.js`) match the app's /openapi.json."""

from __future__ import annotations

from typing import Any

import pytest
from tests.helpers import declared_answer

from qari.web.dashboard import api_types


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return api_types.app_openapi()


def test_api_types_when_compared_with_the_apps_openapi_then_up_to_date(openapi: dict[str, Any]) -> None:
    fresh = api_types.render(openapi)
    assert api_types.TYPES_FILE.read_text() == fresh, (
        f"{api_types.TYPES_FILE.name} is out of date with /openapi.json: run `{api_types.REGENERATE}`"
    )


def test_api_types_when_rendered_then_the_dashboards_reads_are_typed(openapi: dict[str, Any]) -> None:
    text = api_types.render(openapi)
    for name in ("PortfolioPublic", "Candles", "EngineState", "SandboxClock", "TradePublic", "Health"):
        assert f"@typedef {{object}} {name}\n" in text
    assert " * @property {Array<LayerResultPublic>} layer_results\n" in text
    assert " * @property {string|null} [total_usdt]\n" in text  # left out when not connected


def test_openapi_when_read_routes_listed_then_each_answers_a_declared_schema(openapi: dict[str, Any]) -> None:
    reads = {path: item["get"] for path, item in openapi["paths"].items() if "get" in item}
    assert "/api/v1/portfolio" in reads
    assert [path for path, operation in reads.items() if not declared_answer(operation, 200)] == []


def test_js_type_when_json_schema_shapes_then_jsdoc() -> None:
    assert api_types.js_type({"anyOf": [{"$ref": "#/components/schemas/A-Output"}, {"type": "null"}]}) == (
        "A_Output|null"
    )
    assert api_types.js_type({"type": "array", "items": {"type": "integer"}}) == "Array<number>"
    assert api_types.js_type({"type": "object", "additionalProperties": {"type": "boolean"}}) == (
        "Object<string, boolean>"
    )
    assert api_types.js_type({"enum": ["ok", "degraded"]}) == '"ok"|"degraded"'
    assert api_types.js_type({}) == "*"
