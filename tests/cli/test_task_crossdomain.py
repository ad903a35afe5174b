"""`python -m ppr task crossdomain` and `ppr report` of a cross-domain sweep: Table VII with intervals, and exit
code 2 with a specific message for a dataset without domains, a missing target domain or a method that cannot
learn new items."""

from __future__ import annotations

import json

import pytest
from _domains import planted_domains
from _planted import TINY_FLAGS

FLAGS = [*TINY_FLAGS, "--negatives", "20", "--no-progress"]


@pytest.fixture
def xd_home(home):
    planted_domains(home, n_users=300)
    return home


def test_the_task_prints_table_vii_with_intervals_and_the_honest_note(run_cli, xd_home) -> None:
    args = ("task", "crossdomain", "planted", "--target-domain", "target", "--methods", "pop,pop-profile,sasrec")
    rc, out, err = run_cli(*args, "--epochs", "1", *FLAGS)
    assert rc == 0, err
    assert "users cold in domain 'target' (Table VII)" in out and "zero-shot test targets, sampled candidates" in out
    assert "| sasrec-target | target clicks only" in out and "| pop | target clicks' popularity |" in out
    assert "one catalogue cut in two" in out  # planted@v2's domains were declared from its categories
    zero = out.split("zero-shot test targets, sampled candidates")[1].split("##")[0]
    assert (
        "| sasrec-target | target clicks only (trained from scratch on the target domain) | n/a | n/a | n/a |" in zero
    )
    rc, out, _ = run_cli(*args, "--epochs", "1", *FLAGS, "--format", "json")  # the same runs, reused
    body = json.loads(out)
    assert body["target_domain"] == "target" and {r["label"] for r in body["rows"]} == {"pop", "pop-profile", "sasrec"}
    assert all(r["ci_low"] <= r["mean"] <= r["ci_high"] for r in body["rows"])


def test_bad_cross_domain_requests_exit_2(run_cli, xd_home) -> None:
    rc, _, err = run_cli("task", "crossdomain", "planted", "--methods", "pop", *FLAGS)
    assert rc == 2 and "needs --target-domain D; the domains of planted@v2: source, target" in err
    rc, _, err = run_cli(
        "task", "crossdomain", "planted", "--target-domain", "target", "--methods", "ppr-light", *FLAGS
    )
    assert rc == 2 and "ppr-light keeps the warmed item embeddings frozen" in err
    rc, _, err = run_cli("task", "crossdomain", "planted@v1", "--target-domain", "target", "--methods", "pop", *FLAGS)
    assert rc == 2 and "declares no item domains" in err
    rc, _, err = run_cli("tune", "planted", "--method", "minet", *FLAGS)
    assert rc == 2 and "minet is a cross-domain baseline: it needs a target domain" in err


def test_report_of_a_cross_domain_sweep_is_table_vii(run_cli, xd_home) -> None:
    rc, out, err = run_cli("sweep", "planted", "--target-domain", "target", "--methods", "pop,pop-profile", *FLAGS[:-1])
    assert rc == 0, err
    sweep = out.strip().splitlines()[-1]
    rc, out, err = run_cli("report", sweep, "--ranking", "sampled")
    assert rc == 0, err
    assert "Table VII, k=all, noise 0: few-shot test targets, sampled candidates" in out
    assert "whole target catalogue\n" not in out  # --ranking sampled: no full-catalogue blocks
