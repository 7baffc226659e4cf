"""Peers side by side: flowgex vs pandas, polars and duckdb on the same Parquet trades (issue 5)."""
