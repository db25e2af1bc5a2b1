"""A time on the wire in the form the untyped routes wrote (`datetime.isoformat()`: a UTC time ends in
`+00:00`, not pydantic's `Z`), so a route that declares its response model sends the same bytes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import PlainSerializer

IsoDatetime = Annotated[
    dt.datetime, PlainSerializer(lambda v: v.isoformat(), return_type=str, when_used="json")
]
