"""A recording transport for ccxt (async): the network replaced at the exchange instance's `fetch`.

`record(exchange, transport)` turns one ccxt instance into an instance of a subclass whose `fetch`
records the request ccxt built (method, URL, headers, body: after signing) and answers it from a
scripted, recorded payload. Everything above `fetch` is ccxt's own code, unmodified: request
building, signing, `handle_errors` on the venue's error bodies, and parsing. Clones made with
`copy.copy` (as `CcxtExchangeClient` makes them per signed call) keep the subclass and the transport.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: dict[str, str]
    body: str | None

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def query(self) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(self.url).query).items()}

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def params(self) -> dict[str, Any]:
        """The request's parameters: the JSON or form body, else the query string."""
        if self.body:
            try:
                data = json.loads(self.body)
            except ValueError:
                return {k: v[-1] for k, v in parse_qs(self.body).items()}
            return data if isinstance(data, dict) else {"_": data}
        return self.query


@dataclass
class Route:
    method: str
    path: str  # matched as the end of the URL path
    body: Any
    status: int = 200
    query: dict[str, str] = field(default_factory=dict)  # every pair must be in the query string
    once: bool = False
    used: int = 0

    def matches(self, request: Request) -> bool:
        if request.method.upper() != self.method.upper() or not request.path.endswith(self.path):
            return False
        if self.once and self.used:
            return False
        query = {**request.query, **(request.json() if _is_json_object(request.body) else {})}
        return all(str(query.get(k)) == v for k, v in self.query.items())


def _is_json_object(body: str | None) -> bool:
    if not body or not body.startswith("{"):
        return False
    try:
        return isinstance(json.loads(body), dict)
    except ValueError:
        return False


class UnroutedRequest(AssertionError):
    """The client sent a request no fixture answers: the test names what it expects the client to ask."""


class Transport:
    """Scripted answers, first matching route wins (routes added later are tried first)."""

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.routes: list[Route] = []

    def on(
        self,
        method: str,
        path: str,
        body: Any,
        *,
        status: int = 200,
        query: dict[str, str] | None = None,
        once: bool = False,
    ) -> None:
        self.routes.insert(0, Route(method, path, body, status, dict(query or {}), once))

    def sent(self, method: str, path: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path.endswith(path)]

    def only(self, path: str) -> Request:
        """The one request sent to `path` (any method)."""
        found = [r for r in self.requests if r.path.endswith(path)]
        assert len(found) == 1, [r.url for r in self.requests]
        return found[0]

    def answer(self, request: Request) -> Route:
        self.requests.append(request)
        for route in self.routes:
            if route.matches(request):
                route.used += 1
                return route
        raise UnroutedRequest(f"no recorded answer for {request.method} {request.url} body={request.body}")


async def _recorded_fetch(
    self: Any, url: str, method: str = "GET", headers: Any = None, body: Any = None
) -> Any:
    request_headers = self.prepare_request_headers(headers)
    self.last_request_headers = request_headers
    request = Request(method, url, dict(request_headers), body)
    route = self._contract_transport.answer(request)
    text = route.body if isinstance(route.body, str) else json.dumps(route.body)
    parsed = self.parse_json(text)
    self.last_http_response = text
    self.last_json_response = parsed
    self.last_response_headers = {}
    reason = "OK" if route.status < 400 else "Error"
    self.handle_errors(route.status, reason, url, method, {}, text, parsed, request_headers, body)
    self.handle_http_status_code(route.status, reason, url, method, text)
    return parsed


_SUBCLASSES: dict[type, type] = {}


def record_class(cls: type, transport: Transport, monkeypatch: Any) -> None:
    """Make every instance of the ccxt class `cls` answer from `transport` for one test (for code that
    builds its own ccxt instances, such as a key check); `monkeypatch` undoes it."""
    monkeypatch.setattr(cls, "fetch", _recorded_fetch)
    monkeypatch.setattr(cls, "_contract_transport", transport, raising=False)


def record(exchange: Any, transport: Transport) -> Any:
    """Make `exchange` (and its future clones) answer from `transport` instead of the network."""
    cls = type(exchange)
    if cls not in _SUBCLASSES.values():
        sub = _SUBCLASSES.get(cls)
        if sub is None:
            sub = _SUBCLASSES[cls] = type(f"Recorded{cls.__name__}", (cls,), {"fetch": _recorded_fetch})
        exchange.__class__ = sub
    exchange._contract_transport = transport
    return exchange
