"""The web tests' fixtures (the landed small demo, its users, the served app) for the API tests."""

from tests.web.conftest import *  # noqa: F403
