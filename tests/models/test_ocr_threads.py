"""rapidocr's onnxruntime sessions wait without spinning (bench/bench_threads.py says why)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from shashin.models.ocr_rapid import RapidOcr

SIGN = Path(__file__).resolve().parents[2] / "samples" / "tokyo" / "2024-04-03_park-sign.jpg"


def _spinning(reader: RapidOcr) -> list[str]:
    engine = reader._engine
    return [
        part.session.session.get_session_options().get_session_config_entry("session.intra_op.allow_spinning")
        for part in (engine.text_det, engine.text_rec)
    ]


def test_every_ocr_session_sleeps_when_idle_unless_spinning_is_asked_for() -> None:
    pixels = np.asarray(Image.open(SIGN).convert("RGB"))
    quiet = RapidOcr()
    quiet.load()
    assert quiet.read(pixels)[0].text == "NO LITTER"  # the recognizer's session is made only now
    assert _spinning(quiet) == ["0", "0"]
    spinning = RapidOcr(spin=True)
    spinning.load()
    assert spinning.read(pixels)[0].text == "NO LITTER"
    assert _spinning(spinning) == ["1", "1"]
