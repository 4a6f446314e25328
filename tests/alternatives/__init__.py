"""Correct solutions of the exercises in other styles (SQL text, ORM, pandas, other types): each must pass."""
