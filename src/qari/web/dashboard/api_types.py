"""The dashboard's JSDoc types, generated from the app's `/openapi.json` (`make api-types`).

`static/api-types.js` holds a `@typedef` per schema an `/api/v1` route answers with (and the schemas
those use), so the pages read declared fields and an editor or `// @ts-check` knows their shapes. It is
checked in; a unit test fails when it differs from what this module renders from the app.

The JSON-schema subset pydantic emits maps to JSDoc in a few lines, so no generator tool (they are
Node-only) is needed: `python -m qari.web.dashboard.api_types` rewrites the file.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

from qari.web.dashboard import STATIC_DIR

TYPES_FILE = STATIC_DIR / "api-types.js"
REGENERATE = "make api-types"
API_PREFIX = "/api/v1/"
REF = "#/components/schemas/"


def _name(ref: str) -> str:
    return re.sub(r"\W", "_", ref.removeprefix(REF))


def _union(parts: list[str]) -> str:
    return "|".join(dict.fromkeys(parts))


def js_type(schema: dict[str, Any]) -> str:
    """The JSDoc type of a JSON schema (as pydantic writes them)."""
    if "$ref" in schema:
        return _name(schema["$ref"])
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            return _union([js_type(s) for s in schema[key]])
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return _union([json.dumps(v) for v in schema["enum"]])
    kind = schema.get("type")
    if isinstance(kind, list):
        return _union([js_type({**schema, "type": k}) for k in kind])
    if kind == "array":
        return f"Array<{js_type(schema.get('items', {}))}>"
    if kind == "object":
        if "properties" in schema:
            required = set(schema.get("required", []))
            fields = (
                f"{k}{'' if k in required else '?'}: {js_type(v)}" for k, v in schema["properties"].items()
            )
            return "{" + ", ".join(fields) + "}"
        extra = schema.get("additionalProperties")
        return f"Object<string, {js_type(extra) if isinstance(extra, dict) else '*'}>"
    return {
        "string": "string",
        "integer": "number",
        "number": "number",
        "boolean": "boolean",
        "null": "null",
    }.get(str(kind), "*")


def _text(value: object) -> str:
    return " ".join(str(value).replace("*/", "*\\/").split())


def _refs(node: object) -> set[str]:
    if isinstance(node, dict):
        found = {_name(node["$ref"])} if isinstance(node.get("$ref"), str) else set()
        return found.union(*(_refs(v) for v in node.values()))
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node))
    return set()


def answered_schemas(openapi: dict[str, Any]) -> list[str]:
    """Every schema an `/api/v1` route answers with (2xx JSON), and the schemas those use."""
    components = {_name(k): v for k, v in openapi.get("components", {}).get("schemas", {}).items()}
    todo = {
        name
        for path, item in openapi["paths"].items()
        if path.startswith(API_PREFIX)
        for operation in item.values()
        for status, response in operation.get("responses", {}).items()
        if status.startswith("2")
        for name in _refs(response.get("content", {}).get("application/json", {}))
    }
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        seen.add(name)
        todo |= _refs(components[name]) - seen
    return sorted(seen)


def render(openapi: dict[str, Any]) -> str:
    """`api-types.js` for this OpenAPI document."""
    components = {_name(k): v for k, v in openapi.get("components", {}).get("schemas", {}).items()}
    blocks = []
    for name in answered_schemas(openapi):
        schema = components[name]
        lines = [f" * {_text(schema['description'])}"] if schema.get("description") else []
        if "properties" in schema:
            lines.append(f" * @typedef {{object}} {name}")
            required = set(schema.get("required", []))
            for key, prop in schema["properties"].items():
                label = key if key in required else f"[{key}]"
                note = _text(prop.get("description") or prop.get("format") or "")
                lines.append(f" * @property {{{js_type(prop)}}} {label}{f' - {note}' if note else ''}")
        else:
            lines.append(f" * @typedef {{{js_type(schema)}}} {name}")
        blocks.append("/**\n" + "\n".join(lines) + "\n */")
    head = (
        f"// Generated from /openapi.json by `{REGENERATE}` (qari/web/dashboard/api_types.py): do not edit.\n"
        "// What the /api/v1 routes answer with; a page names one as {import('../api-types.js').X}.\n"
        "// Times are ISO 8601 strings; money and quantities decimal strings.\n"
    )
    return head + "\n" + "\n\n".join(blocks) + "\n\nexport {};\n"


def app_openapi() -> dict[str, Any]:
    """The OpenAPI document of the app as `qari serve` builds it (no process started)."""
    from qari.config import load_settings
    from qari.web.app import create_app

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        settings = load_settings(
            data_dir=root / "var", master_key_file=root / "keys" / "master.key", engine_mode="off"
        )
        return create_app(settings).openapi()


def main() -> None:
    TYPES_FILE.write_text(render(app_openapi()))
    print(f"wrote {TYPES_FILE}")


if __name__ == "__main__":
    main()
