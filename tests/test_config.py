from pathlib import Path

import pytest

from shashin.config import ConfigError, default_db, load_settings


def test_defaults(tmp_path: Path) -> None:
    settings = load_settings(config_file=tmp_path / "absent.toml", environ={})
    assert settings.db_path == default_db()
    assert settings.ocr.min_confidence == 0.5
    assert settings.search.rrf_k == 20


def test_precedence_file_then_environment_then_flags(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        'db = "/from/file"\nbatch_size = 4\n[ocr]\nmin_confidence = 0.7\nmax_side = 1500\n[search.weights]\nocr = 2.0\n',
        encoding="utf-8",
    )
    environ = {"SHASHIN_BATCH_SIZE": "8", "SHASHIN_OCR__MAX_SIDE": "1200", "UNRELATED": "x"}
    settings = load_settings({"batch_size": 32, "workers": None}, config_file=config, environ=environ)
    assert settings.db == "/from/file"  # only the file set it
    assert settings.batch_size == 32  # flag beats environment beats file
    assert settings.ocr.max_side == 1200  # environment beats file
    assert settings.ocr.min_confidence == 0.7
    assert settings.search.weights == {"ocr": 2.0}


def test_db_path_expands_home(tmp_path: Path) -> None:
    settings = load_settings({"db": "~/photos-index"}, config_file=tmp_path / "none.toml", environ={})
    assert settings.db_path == Path.home() / "photos-index"


def test_unknown_setting_names_source_and_key(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[ocr]\nconfidence = 0.7\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"config.toml: unknown setting 'ocr.confidence'"):
        load_settings(config_file=config, environ={})


def test_bad_value_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SHASHIN_BATCH_SIZE|batch_size"):
        load_settings(config_file=tmp_path / "none.toml", environ={"SHASHIN_BATCH_SIZE": "many"})


def test_broken_toml_is_reported(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("batch_size = = 3", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(config_file=config, environ={})
