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


def test_a_misspelt_environment_variable_is_an_error_that_suggests_the_name(tmp_path: Path) -> None:
    missing = tmp_path / "none.toml"
    with pytest.raises(
        ConfigError, match="SHASHIN_BATCHSIZE is not a shashin setting .did you mean SHASHIN_BATCH_SIZE"
    ):
        load_settings(config_file=missing, environ={"SHASHIN_BATCHSIZE": "4"})
    with pytest.raises(ConfigError, match="SHASHIN_OCR_MIN_CONFIDENCE.*SHASHIN_OCR__MIN_CONFIDENCE"):
        load_settings(config_file=missing, environ={"SHASHIN_OCR_MIN_CONFIDENCE": "0.3"})
    # Variables that are not settings are fine.
    load_settings(
        config_file=missing, environ={"SHASHIN_TOKEN": "x", "SHASHIN_API_KEY": "y", "SHASHIN_CAPTIONS__API_KEY": "z"}
    )


def test_a_missing_settings_file_named_by_shashin_config_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="SHASHIN_CONFIG names .*nowhere.toml, which is not a file"):
        load_settings(environ={"SHASHIN_CONFIG": str(tmp_path / "nowhere.toml")})


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("batch_size = 1.9", "batch_size.*not a whole number"),
        ("batch_size = true", "batch_size.*not a whole number"),
        ("[search.weights]\nocr = nan", "search.weights.*not a finite number"),
        ("[captions]\ntimeout = inf", "captions.timeout.*not a finite number"),
        ("[captions]\ntimeout = 0", "captions.timeout must be a positive number"),
        ("[search.weights]\nocr = -1", "search.weights must be numbers of 0 or more"),
    ],
)
def test_values_that_would_be_silently_wrong_are_refused(tmp_path: Path, toml: str, message: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(toml + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_settings(config_file=config, environ={})
    with pytest.raises(ConfigError):
        load_settings(config_file=tmp_path / "none.toml", environ={"SHASHIN_CAPTIONS__TIMEOUT": "nan"})
