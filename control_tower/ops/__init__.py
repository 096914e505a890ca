"""Operations data: batches, quarantine, pipeline runs and source freshness (the data-health view)."""

from __future__ import annotations
