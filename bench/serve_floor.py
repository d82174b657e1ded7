"""The framework's floor for bench_serve: uvicorn + FastAPI answering /api/search with a page
shashin served earlier (read from $SHASHIN_FLOOR_PAGE), doing no search at all. What a request
costs here is what no change to shashin's search can take away.

    SHASHIN_FLOOR_PAGE=page.json python -m uvicorn bench.serve_floor:app --port 8000
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI

app = FastAPI()
_PAGE: dict[str, Any] = json.loads(Path(os.environ["SHASHIN_FLOOR_PAGE"]).read_text(encoding="utf-8"))


@app.get("/api/search")
def search(q: str = "", limit: int = 20, offset: int = 0) -> dict[str, Any]:
    return {**_PAGE, "query": q}
