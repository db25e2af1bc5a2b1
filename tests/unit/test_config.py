from __future__ import annotations

import pytest

from qari.config import ConfigError, load_settings


def test_load_settings_when_port_invalid_then_one_clear_line() -> None:
    with pytest.raises(ConfigError) as e:
        load_settings(port=70000)
    assert "QARI_PORT" in str(e.value)
    assert "\n" not in str(e.value)


def test_load_settings_when_database_url_unknown_scheme_then_error() -> None:
    with pytest.raises(ConfigError, match="QARI_DATABASE_URL"):
        load_settings(database_url="mysql://x")


def test_default_database_is_sqlite_under_data_dir(tmp_path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.resolved_database_url == f"sqlite+aiosqlite:///{tmp_path.resolve()}/qari.db"


def test_sandbox_replay_options_when_no_data_then_one_clear_line() -> None:
    with pytest.raises(ConfigError) as e:
        load_settings(sandbox_symbols="BTC")
    assert str(e.value).startswith("invalid configuration: QARI_SANDBOX_SYMBOLS needs QARI_SANDBOX_DATA")
    assert load_settings(sandbox_start="2026-12-01T09:00").sandbox_start is not None  # synthetic demo start


def test_sandbox_replay_options_when_given_then_pairs_unified_and_start_in_utc(tmp_path) -> None:
    settings = load_settings(
        sandbox_data=tmp_path, sandbox_symbols="btc, SUI_USDT,INJ/USDT,BTC", sandbox_start="2024-08-08T16:45"
    )
    assert settings.sandbox_symbol_list == ["BTC/USDT", "SUI/USDT", "INJ/USDT"]
    assert settings.sandbox_start is not None
    assert settings.sandbox_start.isoformat() == "2024-08-08T16:45:00+00:00"
    assert load_settings().sandbox_symbol_list is None
