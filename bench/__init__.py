"""The benchmarks: a small library with the scripts on top (docs/PERFORMANCE.md runs them).

The library, one way (a module imports only those above it in this list):
- stores: the bench's throwaway PostgreSQL databases and Redis database, the engine's test
  database made from the configured one, the URLs that point a subprocess at them, a TCP link
  to the database that a fault cuts (DatabaseLink; the tests' too);
- system: the one harness that starts the real system, for benchmarks and tests alike
  (runsystem, or web, worker and beat one by one, a Redis of one's own) and stops it;
- clients: boto3 clients driving the seed's lifecycle from several processes;
- meters: CPU, memory and threads of the system's processes (psutil);
- stats: the arithmetic and the figures of a run, computed from what was recorded;
- yardsticks: pgbench, Celery's empty task (celery_empty) and moto, on the same machine;
- report: progress lines, the JSON written, throughput's table, Markdown and plot;
- bulk, sweeps, lifecycle_cost, lifecycle_worker, fault_clients, database_faults: what one
  script needs.

The scripts (`python -m bench.<name>`), none importing another: throughput, lifecycle, faults,
api_cost, celery_memory, web_objects.
"""
