"""Where the governed SQL runs: DuckDB (the default) or Apache Spark (the scale-out path).

The KPI definitions and exception rules are written once, in DuckDB's SQL. An
`Engine` runs that SQL: `DuckDBEngine` as it is, `SparkEngine` after
`transpile.to_spark` has turned it into Spark SQL over the tables of a
published lake (`control_tower.lake`). Results come back as Arrow tables, small
enough to write into the warehouse the web app reads.
"""

from control_tower.engines.base import ENGINES, Engine, EngineError
from control_tower.engines.transpile import TranspileError

__all__ = ["ENGINES", "Engine", "EngineError", "TranspileError"]
