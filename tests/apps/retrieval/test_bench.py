"""The bench's paired comparison of query-tower and full fine-tuning, on hand-made result rows."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from pgsuite.apps.retrieval.bench import tower_vs_full


def _rows(*rows: tuple[str, int, float, float]) -> pd.DataFrame:
    """Bench rows from (method, seed, test nDCG@10, dev nDCG@10)."""
    return pd.DataFrame(
        [
            {"method": m, "instance": "c test", "group": "c test", "seed": seed}
            | {"ndcg@10": test, "dev_ndcg@10": dev}
            for m, seed, test, dev in rows
        ]
    )


def test_tower_vs_full_pairs_the_two_modes_by_seed() -> None:
    rows = _rows(
        ("RRF", 0, 0.44, math.nan),
        ("PG-Rank hybrid", 0, 0.43, 0.41),
        ("PG-Rank hybrid", 1, 0.42, 0.39),
        ("PG-Rank hybrid", 2, 0.40, 0.47),  # no full run on seed 2: left out
        ("PG-Rank hybrid (full)", 1, 0.45, 0.40),
        ("PG-Rank hybrid (full)", 0, 0.44, 0.37),
        ("PG-Rank", 0, 0.41, 0.36),  # no full variant at all: no rows
    )
    table = tower_vs_full(rows)
    assert table["method"].tolist() == ["PG-Rank hybrid"] * 3
    assert table["seed"].tolist() == ["0", "1", "mean"]
    assert table["dev_loss"].tolist() == pytest.approx([0.04, -0.01, 0.015])
    assert table["test_loss"].tolist() == pytest.approx([-0.01, -0.03, -0.02])
    assert table["dev_full"].tolist() == pytest.approx([0.37, 0.40, 0.385])


def test_tower_vs_full_is_empty_without_a_pair() -> None:
    rows = _rows(("PG-Rank hybrid", 0, 0.43, 0.41), ("PG-Rank (full)", 0, 0.44, 0.37))
    table = tower_vs_full(rows)
    assert table.empty
    assert "dev_loss" in table.columns
