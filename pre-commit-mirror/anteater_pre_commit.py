"""Brings the anteater wheel (which carries the anteater binary) into pre-commit's virtualenv."""
