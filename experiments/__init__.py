"""Experiment configs: one module per experiment, each with `get_config() -> jaxgan.Config`.

Installed as the package `jaxgan.experiments`; `jaxgan train NAME` looks NAME up here. A user's own experiment can
live anywhere as a `.py` file with the same `get_config()` and is run as `jaxgan train path/to/file.py`.
"""
