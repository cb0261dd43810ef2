"""Metrics: pure functions of predictions and references, each following an official evaluator."""
