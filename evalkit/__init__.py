"""evalkit: few-shot evaluation of Flamingo-family vision-language models."""

__version__ = "0.1.0"

__all__ = ["Evaluation", "Evaluator", "evaluate"]


def __getattr__(name: str):
    """`evalkit.evaluate`, `evalkit.Evaluator`, `evalkit.Evaluation` (evalkit/api.py), imported on
    first use so that `import evalkit` and the CLI's start stay light."""
    if name in __all__:
        from evalkit import api

        return getattr(api, name)
    raise AttributeError(f"module 'evalkit' has no attribute {name!r}")
