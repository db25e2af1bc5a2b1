"""Live-event buses (issue 19 item 7): `memory.LiveEventHub` in one process, `postgres.PgLiveEvents`
across processes (LISTEN/NOTIFY). Writers note events with `persistence.live.note_change`."""

from __future__ import annotations
