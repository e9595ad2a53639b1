"""PG-Rank: a Plackett-Luce ranking policy over a text encoder, trained by policy gradient on nDCG.

Planned (see the project's issues).
"""
