"""The web interface and REST API: thin layers over Library, served by `shashin serve`."""

from shashin.web.app import WebSettings, create_app

__all__ = ["WebSettings", "create_app"]
