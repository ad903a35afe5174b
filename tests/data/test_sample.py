"""The bundled sample: honest (regenerates byte for byte), small, and imported only once."""

from __future__ import annotations

from pathlib import Path

from ppr.data.sample import SAMPLE_DIR, ensure_sample, write_sample_files
from ppr.data.store import Store

ROLES = ("interactions", "users", "items")


def test_documented_command_reproduces_the_shipped_files(tmp_path: Path) -> None:
    fresh = write_sample_files(tmp_path)
    for role in ROLES:
        shipped = SAMPLE_DIR / f"{role}.csv"
        assert fresh[role].read_bytes() == shipped.read_bytes(), f"{shipped} differs from a fresh generation"
    assert "python -m ppr.data.sample sample_data" in (SAMPLE_DIR / "README.md").read_text()


def test_sample_is_small() -> None:
    assert sum((SAMPLE_DIR / f"{r}.csv").stat().st_size for r in ROLES) < 5 * 2**20


def test_ensure_sample_imports_once(home: Path) -> None:
    store = Store(home)
    ds = ensure_sample(store)
    assert ds.ref == "sample@v1"
    assert ds.n_users == 3000 and ds.n_items <= 1000
    assert [a["name"] for a in ds.attributes] == ["age_group", "gender", "occupation", "region"]
    again = ensure_sample(store)
    assert again.path == ds.path and store.versions("sample") == [1]
