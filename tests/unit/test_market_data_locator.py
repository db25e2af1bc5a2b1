"""Tests and benchmarks find ../shared/data from a checkout, a worktree and a clean clone in /tmp."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.market_data import SHARED_MARKET_DATA, locate_market_data


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("QARI_MARKET_DATA", raising=False)
    (tmp_path / "work" / SHARED_MARKET_DATA).mkdir(parents=True)
    (tmp_path / "work" / "main" / ".git").mkdir(parents=True)
    return tmp_path


def test_locate_when_checkout_beside_shared_then_found(layout: Path) -> None:
    assert locate_market_data(layout / "work" / "main") == layout / "work" / SHARED_MARKET_DATA


def test_locate_when_clean_clone_elsewhere_then_found_through_its_origin(layout: Path) -> None:
    clone = layout / "elsewhere" / "x"
    (clone / ".git").mkdir(parents=True)
    (clone / ".git" / "config").write_text(f'[remote "origin"]\n\turl = {layout / "work" / "main"}\n')
    assert locate_market_data(clone) == layout / "work" / SHARED_MARKET_DATA


def test_locate_when_no_data_or_remote_origin_then_none(layout: Path) -> None:
    clone = layout / "elsewhere" / "y"
    (clone / ".git").mkdir(parents=True)
    (clone / ".git" / "config").write_text('[remote "origin"]\n\turl = https://example.invalid/qari.git\n')
    assert locate_market_data(clone) is None


def test_locate_when_env_names_a_folder_then_that_folder(
    layout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QARI_MARKET_DATA", str(layout))
    assert locate_market_data(layout / "nowhere") == layout
    monkeypatch.setenv("QARI_MARKET_DATA", str(layout / "missing"))
    assert locate_market_data(layout / "work" / "main") is None
