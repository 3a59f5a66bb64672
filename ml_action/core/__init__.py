"""The core: pure computation (metrics, intervals, gates and the decision, drift, profiles). No I/O, no
network, no environment; it imports no adapter and no orchestration (tests/unit/test_architecture.py)."""
