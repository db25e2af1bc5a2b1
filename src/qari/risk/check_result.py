"""The coded outcome of one gate check."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CheckResult:
    code: str  # "G01".."G16"
    name: str
    passed: bool
    reason: str

    @staticmethod
    def ok(code: str, name: str, reason: str = "ok") -> CheckResult:
        return CheckResult(code, name, True, reason)

    @staticmethod
    def fail(code: str, name: str, reason: str) -> CheckResult:
        return CheckResult(code, name, False, reason)
