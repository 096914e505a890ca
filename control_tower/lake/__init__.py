"""The lake: the landed tables and the derived inputs of the governed SQL, published as a
documented, versioned Parquet layout that Spark, DuckDB and other engines read (docs/lake.md).

`layout` defines the folders, the manifest and the partitioning; `tables` which tables are
published; `publish` writes a version (only the changed partitions, atomically); `read` finds
the current version's exact files and registers them on a DuckDB connection.
"""
