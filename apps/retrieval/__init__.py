"""PG-Rank: a Plackett-Luce ranking policy over a text encoder, trained by policy gradient on nDCG.

Modules:

- ``data``: the collection model (corpus, queries, graded qrels) and the BEIR, TREC (qrels and
  runs) and SMART (Cranfield) loaders, with the fixed Cranfield split and a seeded dev split.
- ``metrics``: nDCG@k, MRR@k and Recall@k with trec_eval's conventions, and a batched nDCG@k of
  many sampled rankings (the policy's reward).
"""
