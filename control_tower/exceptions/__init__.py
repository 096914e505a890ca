"""Exception queues: typed conditions detected after each load, worked to resolution by people.

- `types`: every exception type and its detection rule (one registry).
- `detect`: the post-load step: run the rules in DuckDB, reconcile the queue, mirror it.
- `store`: items, comments and the audit log in the app database (SQLAlchemy).
- `workflow`: assign, acknowledge, comment, snooze, resolve, reopen, with optimistic locking.
- `aging`: age, SLA breach and bucket of an item.
- `query`: the queue for people: scoped, filtered, sorted and paged in SQL.
- `rows`: an item as a flat record (grids, exports, the API).
- `actions`: `act_many`, the one path by which people act on items (scope and version checked).
- `cli`: `control-tower exceptions ...`.
"""
