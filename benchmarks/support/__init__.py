"""Pieces the benchmarks share: demo extracts generated once, process-tree sampling, a delta drop."""
