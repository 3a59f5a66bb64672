"""ml-action: CI/CD for scikit-learn models (package root; owns the version string only)."""

__version__ = "1.0.0"
