"""Where the web's routes live: each in the router of its area (web/routes/), none on the app
itself, so the security gate and error handling in web/app.py stay one small place."""

from __future__ import annotations

import ast
from pathlib import Path

from fastapi.routing import APIRoute

from shashin.web.routes import ROUTERS

WEB = Path(__file__).resolve().parents[2] / "src" / "shashin" / "web"
ROUTE_METHODS = {"get", "post", "put", "patch", "delete", "head", "options", "api_route", "route", "websocket"}


def _route_decorators(path: Path) -> list[str]:
    """`@x.get(...)`-style decorators in a module, as "x.get" (line)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                call = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(call, ast.Attribute) and call.attr in ROUTE_METHODS and isinstance(call.value, ast.Name):
                    found.append(f"{call.value.id}.{call.attr} ({path.name}:{node.lineno})")
    return found


def test_every_route_is_in_its_areas_router() -> None:
    outside = [
        decorator
        for path in sorted(WEB.rglob("*.py"))
        if path.parent.name != "routes"
        for decorator in _route_decorators(path)
    ]
    assert outside == [], "routes belong in web/routes/<area>.py, on its router: " + ", ".join(outside)
    for path in sorted((WEB / "routes").glob("*.py")):
        assert all(d.startswith("router.") for d in _route_decorators(path)), path.name


def test_the_app_serves_exactly_the_routers_routes(tmp_path: Path) -> None:
    from shashin.config import load_settings
    from shashin.library import Library
    from shashin.web import create_app

    app = create_app(Library(settings=load_settings({"db": str(tmp_path / "db")})))
    served = [route for route in app.routes if isinstance(route, APIRoute)]
    declared = [route for router in ROUTERS for route in router.routes if isinstance(route, APIRoute)]
    assert {id(route) for route in served} == {id(route) for route in declared}  # every route from a router
    documented = {(path, method.upper()) for path, methods in app.openapi()["paths"].items() for method in methods}
    assert documented == {
        (route.path, method) for route in declared if route.include_in_schema for method in route.methods
    }
    areas = {route.endpoint.__module__.rsplit(".", 1)[1] for router in ROUTERS for route in router.routes}  # type: ignore[attr-defined]
    assert areas == {"search", "photos", "files", "people", "tags", "saved", "status"}


def test_the_route_check_sees_what_it_is_for(tmp_path: Path) -> None:
    stray = tmp_path / "stray.py"
    stray.write_text("@app.get('/x')\ndef x():\n    pass\n", encoding="utf-8")
    assert _route_decorators(stray) == ["app.get (stray.py:2)"]
