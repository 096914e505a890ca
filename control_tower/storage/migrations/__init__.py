"""The app database's migration scripts (Alembic): `env.py`, and one file per revision in `versions/`.

Run through `control_tower.storage.migrate`, never through an `alembic.ini`: the product passes
the connection (and, to autogenerate a revision, the models' metadata) in the configuration.
"""
