"""Answers that look right but skip the exercise (remembered values, hidden statements, all rows): each must fail."""
