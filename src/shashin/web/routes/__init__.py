"""The web's routes, one router per area over one app state (web.state): search, photos, files,
people, tags, saved searches, status. tests/web/test_routes.py fails when a route lives elsewhere."""

from shashin.web.routes import files, people, photos, saved, search, status, tags

ROUTERS = (search.router, photos.router, files.router, people.router, tags.router, saved.router, status.router)

__all__ = ["ROUTERS"]
