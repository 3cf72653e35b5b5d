"""Settings grouped per stage (vodstack/config/): one class, the same names as ever.

The groups are bases of ``Settings``; these tests pin what the composition must keep: every
field in exactly one group, validators that read another field run after it, and every
field still read from its ``VODSTACK_<NAME>`` variable.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from vodstack.config import Settings
from vodstack.config.transcode import TranscodeSettings

GROUPS = [b for b in Settings.__mro__[1:] if b.__module__.startswith("vodstack.config.")]


def test_every_field_sits_in_exactly_one_group() -> None:
    seen: dict[str, str] = {}
    for group in GROUPS:
        assert issubclass(group, BaseModel)
        for name in group.__annotations__:
            assert name not in seen, f"{name} in {group.__name__} and {seen[name]}"
            seen[name] = group.__name__
    assert set(seen) == set(Settings.model_fields)


def test_fields_read_by_validators_come_first() -> None:
    """``info.data`` holds only the fields validated before: fragment_s must precede."""
    order = list(Settings.model_fields)
    assert order.index("fragment_s") < order.index("segment_s")
    assert order.index("fragment_s") < order.index("window_s")
    assert order[0] == "home"  # `config show` lists the groups in pipeline order


@pytest.mark.parametrize("name", ["segment_s", "window_s"])
def test_multiples_of_a_custom_fragment(name: str, tmp_path: Path) -> None:
    given = {"home": tmp_path, "fragment_s": 3, "segment_s": 6, "window_s": 6}
    assert getattr(Settings(**{**given, name: 9}), name) == 9
    with pytest.raises(ValidationError, match=f"{name} \\(4\\) must be a multiple of fragment_s"):
        Settings(**{**given, name: 4})


def test_every_field_keeps_its_variable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VODSTACK_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("VODSTACK_HOME", str(tmp_path))
    monkeypatch.setenv("VODSTACK_COST_CURRENCY", "EUR")
    monkeypatch.setenv("VODSTACK_PLAYBACK_BURST", "7")
    monkeypatch.setenv("VODSTACK_LOG_LEVEL", "debug")
    settings = Settings()
    assert (settings.home, settings.cost_currency, settings.playback_burst) == (tmp_path, "EUR", 7)
    assert settings.log_level == "DEBUG"
    assert settings.effective_edge_disk_dir == tmp_path / "cache" / "edge"
    assert settings.base_url() == "http://127.0.0.1:8000"


def test_a_group_validates_on_its_own() -> None:
    """A group is a model of its own: its fields can be checked without the rest."""
    assert TranscodeSettings(window_s=4).ladder_profiles["default"].mode == "crf"
    with pytest.raises(ValidationError):
        TranscodeSettings(ladder=())
