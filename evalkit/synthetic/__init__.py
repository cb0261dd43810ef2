"""Synthetic benchmark data in the official layouts, drawn with PIL, reproducible from a seed."""
