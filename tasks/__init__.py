"""Task plugins: one module per benchmark, each defining `TASK = TaskSpec(...)`.

Installed as the package `evalkit.tasks` (see pyproject.toml); the registry discovers the modules.
"""
