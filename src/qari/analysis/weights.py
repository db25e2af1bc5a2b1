"""Stage 1 confluence weights: fixed per-layer points read from a data file shipped in the package.

Stage 2 tuned weights arrive as data in the same shape (`WeightSet.from_mapping`), never as code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

LAYER_CODES = tuple(range(1, 12))


@dataclass(frozen=True, slots=True)
class WeightSet:
    name: str
    points: tuple[float, ...]  # index 0 = layer 1
    threshold: float
    min_agreeing: int = 3
    ele_min_agreeing: int = 5

    def point(self, layer: int) -> float:
        return self.points[layer - 1]

    @staticmethod
    def from_mapping(data: Mapping[str, Any]) -> WeightSet:
        pts = data["points"]
        missing = [c for c in LAYER_CODES if str(c) not in pts]
        if missing:
            raise ValueError(f"weights missing points for layers {missing}")
        points = tuple(float(pts[str(c)]) for c in LAYER_CODES)
        if any(p < 0 for p in points):
            raise ValueError("layer points must be non-negative")
        threshold = float(data["threshold"])
        if not 0.0 <= threshold <= 1.0:
            raise ValueError("threshold must be within [0, 1]")
        min_agreeing = int(data.get("min_agreeing", 3))
        if min_agreeing < 3:
            raise ValueError("at least 3 agreeing layers are required (rule R5)")
        return WeightSet(
            str(data.get("name", "custom")),
            points,
            threshold,
            min_agreeing,
            max(int(data.get("ele_min_agreeing", 5)), min_agreeing),
        )


@cache
def stage1() -> WeightSet:
    text = resources.files("qari.analysis.data").joinpath("weights_stage1.json").read_text("utf-8")
    return WeightSet.from_mapping(json.loads(text))
