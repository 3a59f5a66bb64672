"""Adapters: the outside world (the Actions runner and the terminal, GitHub, the Dask cluster, the report's
delivery, the model registry). Adapters import no orchestration."""
