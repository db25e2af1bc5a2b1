"""The stop band (R4, 10–30 % below the entry) is stated once, in `risk/stops.py`; the float code that
plans stops (analysis, learning labels) and the settings form read it from there."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from qari.analysis import setup_levels
from qari.learning import labels
from qari.risk.stops import MAX_STOP_DISTANCE, MIN_STOP_DISTANCE, StopBand
from qari.services import risk_settings

SRC = Path(__file__).resolve().parents[3] / "src" / "qari"
READERS = ("analysis/setup_levels.py", "learning/labels.py", "services/risk_settings.py")


def test_stop_band_when_read_elsewhere_then_same_edges_as_risk_stops() -> None:
    edges = (float(MIN_STOP_DISTANCE), float(MAX_STOP_DISTANCE))
    assert setup_levels.STOP_BAND == edges == labels.STOP_BAND
    assert risk_settings.STOP_LOSS_BAND == (MIN_STOP_DISTANCE * 100, MAX_STOP_DISTANCE * 100)
    assert [f"{x:f}" for x in risk_settings.STOP_LOSS_BAND] == ["10", "30"]  # as the settings form shows it
    assert StopBand().contains(MIN_STOP_DISTANCE) and StopBand().contains(MAX_STOP_DISTANCE)


@pytest.mark.parametrize("reader", READERS)
def test_stop_band_when_needed_then_imported_from_risk_stops_not_restated(reader: str) -> None:
    tree = ast.parse((SRC / reader).read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "qari.risk.stops"
        for alias in node.names
    }
    assert {"MIN_STOP_DISTANCE", "MAX_STOP_DISTANCE"} <= imported
