"""Benchmarks that print figures (they assert nothing): ``python -m tools.bench [build|timing|queries|memory|all]``.

Example: python -m tools.bench build --pg postgresql://postgres@127.0.0.1/test

- ``build``: the default SQLite build (seconds, rows/s, peak memory, file size) against a bare
  ``sqlite3`` executemany of the same rows, ``pandas.to_sql`` and ORM ``add_all`` (on samples,
  extrapolated), the PostgreSQL COPY rate, and the time of ``import perflab``.
- ``timing``: ``measure`` against ``timeit`` on fixed micro-benchmarks.
- ``queries``: the query log's overhead per statement, and the injected latency's accuracy.
- ``memory [NOTEBOOK ...]``: each chapter's (or each named notebook's) kernel peak memory against Binder's
  2 GB, every cell run in a fresh kernel (not part of ``all``: it runs notebooks).
"""
