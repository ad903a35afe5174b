"""A tiny GroupLens-layout ml-100k folder (u.data, u.user, u.item) for fetch/import tests."""

from __future__ import annotations

from pathlib import Path

N_GENRES = 19


def write_tiny_ml100k(folder: Path, n_users: int = 4, n_items: int = 5) -> Path:
    """n_users users who each rate every item once, one second apart; ages/genders alternate."""
    folder.mkdir(parents=True, exist_ok=True)
    ratings = [
        f"{u}\t{i}\t{1 + (u + i) % 5}\t{880000000 + u * 100 + i}"
        for u in range(1, n_users + 1)
        for i in range(1, n_items + 1)
    ]
    (folder / "u.data").write_text("\n".join(ratings) + "\n")
    users = [f"{u}|{20 + u}|{'MF'[u % 2]}|student|0000{u}" for u in range(1, n_users + 1)]
    (folder / "u.user").write_text("\n".join(users) + "\n")
    flags = "|".join(["0"] * (N_GENRES - 1) + ["1"])
    items = [f"{i}|Movie {i} (1995)|01-Jan-1995||http://x|{flags}" for i in range(1, n_items + 1)]
    (folder / "u.item").write_text("\n".join(items) + "\n", encoding="latin-1")
    return folder
