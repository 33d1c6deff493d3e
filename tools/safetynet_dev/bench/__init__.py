"""``make bench``: the scale benchmark of issue 7 (≈1M persons x 3 days).

``python -m safetynet_dev.bench [--households 400000] [--days 3] [--start 2026-10-01]``
(``python -m safetynet_dev.bench.run``, what ``make bench`` calls, is the same)

One invocation, on its own isolated deployment of the local cluster:

1. a fresh warehouse database (``bench``) and a fresh Airflow metadata
   database (``bench_airflow``), its own ``var/bench/{landing,feed,reports,
   airflow,cosmos}``; the statements of the bench database that take longer
   than ``--slow-ms`` go to the server log (``ALTER DATABASE ... SET
   log_min_duration_statement``), so the slowest loader, dbt and GX
   statements can be named afterwards without touching the code;
2. the synthetic extracts (``generator.generate``), timed on their own:
   generation is not part of the pipeline figures;
3. ``airflow dags test safetynet_daily <D>`` for each day in order, as a
   subprocess, while a sampler thread (every ``--interval`` s, psutil when
   installed, else ``/proc``) records the RSS of the Airflow process tree
   (the process running the tasks and any child) and of the PostgreSQL
   server processes (postmaster, its auxiliary processes and the bench
   databases' backends; RSS and PSS, since RSS counts shared buffers once per
   backend);
4. per-stage wall times from the Airflow metadata database (task_instance
   start/end of the day's run), rows/s of the load stage and of each source;
5. a plain ``COPY`` of each day's files (same bytes, same encoding options)
   into unindexed all-text tables just before that day's run, and the
   pipeline/COPY ratio;
6. a table on stdout and ``var/bench/results-<timestamp>.json`` (also
   ``var/bench/latest.json``) to compare runs.

The parts: ``sampler`` (processes, memory and CPU of the run), ``stages``
(the day's run and its stages from the Airflow metadata), ``baseline``
(what was delivered, the plain COPY baseline, the loader alone), ``logs``
(slow statements from the server log, dbt's and Airflow's output),
``deployment`` (the bench's own databases, folders and api-server),
``report`` (the table and the verdicts) and ``runner`` (the command line,
one day, the whole run). Each is importable on its own and covered by
``tests/test_bench.py`` on a few hundred households.
"""
