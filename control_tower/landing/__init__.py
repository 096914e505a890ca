"""Landing: extract files into the warehouse through the contract, one batch per file."""

from __future__ import annotations

from control_tower.landing.batch import BatchResult, land_file
from control_tower.landing.ingest import IngestReport, land_inbox

__all__ = ["BatchResult", "IngestReport", "land_file", "land_inbox"]
