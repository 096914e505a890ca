"""Reference implementations the benchmarks check the governed KPIs against."""
