"""evalkit: few-shot evaluation of Flamingo-family vision-language models."""

__version__ = "0.1.0"
