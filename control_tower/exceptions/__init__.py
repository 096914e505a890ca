"""Exception queues: typed conditions detected after each load, worked to resolution by people.

- `registry`: the one registry of exception type names (dependency-free; the KPI layer reads it).
- `rules`: the detection rules, one module per domain, each type with its SQL.
- `detect`: the post-load step: run the rules in DuckDB, reconcile the queue, mirror it.
- `store`: items, comments and the audit log in the app database (SQLAlchemy).
- `workflow`: assign, acknowledge, comment, snooze, resolve, reopen, with optimistic locking.
- `aging`: age, SLA breach and bucket of an item.
- `query`: the queue for people: scoped, filtered, sorted and paged in SQL.
- `rows`: an item as a flat record (grids, exports, the API).
- `records`: the landed records behind an item, read through `scoped_rows` (the reader's scope
  on every table).
- `actions`: `act_many`, the one path by which people act on items (scope and version checked).
- `behind`: the unresolved items behind a KPI's number (from the types it lists).
- `cli`: `control-tower exceptions ...`.
"""
