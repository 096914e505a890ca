"""Pipelines: what one run does (land, post-load steps, publish) and when it runs.

- `steps.py`: the post-load steps, in order (one registry; later parts add
  KPI refresh, exception detection and risk scoring here).
- `run.py`: one pipeline run, the unit the scheduler, `control-tower ingest`
  and the demo all execute.
- `schedule.py`: the APScheduler job table and the scheduler process.
"""

from __future__ import annotations
