"""Landing: deliveries into the warehouse through the contract, one batch each.

The public seams: a `Ledger` records and lands batches (start with the
duplicate-content skip, land a relation through the contract, finish or
reject), a `Source` yields the batches of its deliveries, and
`land_sources` runs a list of sources as one landing run.
"""

from __future__ import annotations

from control_tower.landing.batch import land_file
from control_tower.landing.contract import header_detail
from control_tower.landing.files import archive_file, content_hash, entry_problem, set_aside
from control_tower.landing.ingest import IngestReport, install_zones, land_inbox, land_sources
from control_tower.landing.ledger import Batch, Delivery, Ledger
from control_tower.landing.readers import (
    LINE_COLUMN,
    PROBLEMS_COLUMN,
    ReadResult,
    UnreadableFileError,
    file_format,
    read_file,
)
from control_tower.landing.records import BatchResult, failure_reason, ms_since, utc_now
from control_tower.landing.source import InboxSource, LandingRun, Source

__all__ = [
    "LINE_COLUMN",
    "PROBLEMS_COLUMN",
    "Batch",
    "BatchResult",
    "Delivery",
    "InboxSource",
    "IngestReport",
    "LandingRun",
    "Ledger",
    "ReadResult",
    "Source",
    "UnreadableFileError",
    "archive_file",
    "content_hash",
    "entry_problem",
    "failure_reason",
    "file_format",
    "header_detail",
    "install_zones",
    "land_file",
    "land_inbox",
    "land_sources",
    "ms_since",
    "read_file",
    "set_aside",
    "utc_now",
]
