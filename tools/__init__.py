"""Maintainer tooling, apart from the learner package and not shipped in the wheel.

Run from the repository's root (``python3 tasks.py`` names every command):

- ``python -m tools.nbtools execute | nav | check``: re-execute chapters, refresh navigation, structure rules.
- ``python -m tools.bench build | timing | queries | all``: benchmarks that print figures.
"""
