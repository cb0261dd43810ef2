"""Prompt building: a task's template, in the chosen model format, filled with demos and a query."""
