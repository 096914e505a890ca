"""The small demo landed once for the view-model tests (the same fixtures as the web tests)."""

from tests.web.conftest import catalog, demo_settings, snapshot

__all__ = ["catalog", "demo_settings", "snapshot"]
