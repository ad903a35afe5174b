"""User attributes -> small categorical vocabularies the prompt generator can embed.

Every attribute becomes int16 codes with code 0 = "missing". Numbers with many
distinct values are cut into quantile bins (an embedding per exact age is mostly
noise); strings with very many values keep the most frequent ones plus "other"
(a zip code vocabulary of thousands would be one user per value).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

MISSING = "missing"
OTHER = "other"
MAX_NUMERIC_CATEGORIES = 20  # numeric columns with more distinct values are binned
N_BINS = 8
TOP_K = 50  # string columns with more distinct values keep the TOP_K most frequent + "other"


def encode_attribute(
    values: pd.Series,
    name: str,
    source_column: str,
    n_bins: int = N_BINS,
    top_k: int = TOP_K,
    max_numeric_categories: int = MAX_NUMERIC_CATEGORIES,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Encode one attribute column (one entry per user, None = no value) -> (int16 codes, manifest entry)."""
    text = values.astype("string").str.strip()
    missing = (text.isna() | (text == "") | (text == MISSING)).to_numpy(dtype=bool)
    present = text[~missing].astype(str)
    numbers = pd.to_numeric(present, errors="coerce")
    numeric = len(present) > 0 and bool(numbers.notna().all())
    codes = np.zeros(len(values), dtype=np.int16)
    entry: dict[str, Any] = {"name": name, "source_column": source_column}
    if numeric and numbers.nunique() > max_numeric_categories:
        labels, edges, bins = _quantile_bins(numbers.to_numpy(dtype=np.float64), n_bins)
        codes[~missing] = bins + 1
        entry.update(encoding="quantile_bins", values=[MISSING, *labels], edges=edges)
    else:
        counts = present.value_counts()
        if len(counts) > top_k:
            ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top_k]
            vocab = [v for v, _ in ranked]
            if OTHER in vocab:  # a real "other" value absorbs the rare ones
                entry.update(encoding="top_k", values=[MISSING, *vocab])
                other_code = vocab.index(OTHER) + 1
            else:
                entry.update(encoding="top_k", values=[MISSING, *vocab, OTHER])
                other_code = len(vocab) + 1
        else:
            vocab = sorted(counts.index, key=float) if numeric else sorted(counts.index)
            entry.update(encoding="categorical", values=[MISSING, *vocab])
            other_code = 0
        lookup = {v: i + 1 for i, v in enumerate(vocab)}
        codes[~missing] = present.map(lookup).fillna(other_code).to_numpy(dtype=np.int16)
    entry["missing_share"] = float(missing.mean()) if len(values) else 0.0
    return codes, entry


def _quantile_bins(x: np.ndarray, n_bins: int) -> tuple[list[str], list[float], np.ndarray]:
    """Quantile edges (integers when the data are integers) -> (labels, edges, bin index per value)."""
    edges = np.quantile(x, np.linspace(0.0, 1.0, n_bins + 1))
    if np.all(x == np.round(x)):
        edges = np.round(edges)
    edges = np.unique(edges)
    bins = _bin(edges, x)
    labels = [f"[{_num(lo)}, {_num(hi)})" for lo, hi in zip(edges[:-2], edges[1:-1], strict=True)]
    labels.append(f"[{_num(edges[-2])}, {_num(edges[-1])}]")
    return labels, [float(e) for e in edges], bins.astype(np.int16)


def _bin(edges: np.ndarray, x: np.ndarray) -> np.ndarray:
    """0-based bin of each value; values beyond the edges fall into the first or last bin."""
    return np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.4g}"


def code_for(entry: dict[str, Any], value: str) -> int | None:
    """The code a raw `value` gets under an attribute's manifest entry, as the importer encoded it (None: a value the
    vocabulary has never seen). A label of the vocabulary itself (e.g. a bin '[25, 35)') is accepted too."""
    text = str(value).strip()
    labels = list(entry["values"])
    if text in ("", MISSING):
        return 0
    if text in labels:
        return labels.index(text)
    if entry.get("encoding") == "quantile_bins":
        try:
            x = float(text)
        except ValueError:
            return None
        return int(_bin(np.asarray(entry["edges"], dtype=np.float64), np.array([x]))[0]) + 1
    if entry.get("encoding") == "top_k" and OTHER in labels:
        return labels.index(OTHER)
    return None
