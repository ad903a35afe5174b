"""`python -m ppr data domains`: a new version with two item domains, or exit code 2 and a specific message."""

from __future__ import annotations

import json

from _planted import planted_dataset

from ppr.data.store import Store


def test_domains_are_declared_and_bad_declarations_exit_2(run_cli, home) -> None:
    planted_dataset(Store(home))
    rc, out, err = run_cli("data", "domains", "planted", "--by", "category", "--target", "g1,G2", "--json")
    assert rc == 0, err
    assert json.loads(out) | {"path": None} == {
        "dataset": "planted@v2",
        "path": None,
        "domains": {"source": 100, "target": 100},
    }
    rc, _, err = run_cli("data", "domains", "planted@v1", "--by", "category", "--target", "drama")
    assert rc == 2 and "No item of planted@v1 has a category matching 'drama'" in err and "'g1'" in err
    rc, _, err = run_cli("data", "domains", "planted", "--by", "genre", "--target", "g1")
    assert rc == 2 and "invalid choice: 'genre'" in err
    rc, _, err = run_cli("data", "domains", "planted", "--by", "category", "--target", "g1", "--target-name", "a/b")
    assert rc == 2 and "Domain name 'a/b' is invalid" in err
    rc, _, err = run_cli("data", "domains", "nothing", "--by", "category", "--target", "g1")
    assert rc == 2 and "No dataset named 'nothing'" in err
    assert Store(home).versions("planted") == [1, 2]


def test_too_few_users_in_both_domains_exit_2(run_cli, home) -> None:
    planted_dataset(Store(home), n_users=12)
    rc, _, err = run_cli("data", "domains", "planted", "--by", "category", "--target", "g1")
    assert rc == 2 and "users with clicks in both the target domain 'target'" in err and "need at least 20" in err
