"""The web tests run on the app database the session asks for (CT_TEST_APP_DB).

`python3 tasks.py test` runs this folder's non-browser tests a second time with
`CT_TEST_APP_DB=postgresql`: this checks that the pass really used PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa

from tests.support import app_databases
from tests.support.data_copies import app_db
from tests.support.web_users import USERS


def test_the_demo_app_database_is_the_requested_kind(demo_settings):
    backend = sa.make_url(demo_settings.app_db_url).get_backend_name()
    assert backend == ("sqlite" if app_databases.requested() is None else "postgresql")
    with app_db(demo_settings) as db:
        (users,) = db.execute("SELECT count(*) FROM acct_users").fetchone()
        (items,) = db.execute("SELECT count(*) FROM exc_items").fetchone()
    assert users == len(USERS)  # one per role
    assert items > 0
