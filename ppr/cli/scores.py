"""`python -m ppr scores import CSV --like RUN --name NAME`: another library's scores as a method of a sweep.

The round trip: `python -m ppr data export` writes a fold's targets.tsv (every validation and test target with
its 99 fixed negatives); a model elsewhere scores them into a CSV `user,target,candidate,score`; this command
turns the CSV into a finished run (ppr.runs.imported) on the targets of the tuning run --like names, and lists
it in that run's sweep, so `python -m ppr report SWEEP` and the Compare page show it beside the other methods.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ppr.cli import help_line
from ppr.data.store import Store
from ppr.errors import InputError
from ppr.jobs import control
from ppr.jobs import sweep as sweeps
from ppr.runs.folder import complete_run
from ppr.runs.imported import COLUMNS, KIND_NAMES, Imported, import_scores
from ppr.spec.run import imported_name_problem


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("scores", help=help_line("scores"))
    ssub = p.add_subparsers(dest="scores_command", metavar="SUBCOMMAND", required=True)
    i = ssub.add_parser(
        "import",
        help="turn a CSV of another library's candidate scores into a finished run that reports show as a method",
        description=(
            f"Reads a CSV with columns {','.join(COLUMNS)} (original user id, target_id of targets.tsv written by "
            "`python -m ppr data export`, original item id, score: higher is better) with a score for the positive "
            "and every negative of each scored target. Every few-shot test target must be scored; zero-shot targets "
            "may be left out (they read n/a). The targets are those of the finished tuning run --like names: export "
            "with its fold and k-shot. The same file under the same name is the same run (imported once)."
        ),
    )
    i.add_argument("csv", type=Path, help="the scores file (CSV)")
    i.add_argument(
        "--like",
        required=True,
        help="a finished tuning run whose dataset, split, fold, k-shot, noise "
        "and seed the scores share (`python -m ppr runs list`)",
    )
    i.add_argument("--name", required=True, help="the method's name in tables and charts, e.g. bert4rec")
    i.add_argument("--sweep", default=None, help="the sweep to list it in (default: the --like run's sweep, if any)")
    i.add_argument("--json", action="store_true", help="print the outcome as JSON")
    i.set_defaults(func=run_import)


def run_import(args: argparse.Namespace, store: Store) -> int:
    expected = imported_name_problem(args.name)
    if expected:
        raise InputError(f"--name {args.name!r} is invalid: expected {expected}.")
    like = complete_run(store.runs_dir, args.like)
    sid = args.sweep or control.sweep_of(store, like.id)
    if args.sweep and like.id not in {c["run_id"] for c in sweeps.read_sweep(store, args.sweep)["cells"]}:
        raise InputError(
            f"Run {like.id} is not a tuning run of sweep {args.sweep}: pass --like one of its cells (`python -m ppr "
            f"runs list --sweep {args.sweep}`), so the imported scores share the targets of the sweep's methods."
        )
    done = import_scores(store, args.csv, like, args.name)
    joined = sweeps.add_run(store, sid, done.run) if sid else False
    outcome = _outcome(done, sid, joined)
    if args.json:
        print(json.dumps(outcome, indent=2, default=str))
    else:
        print(_text(outcome))
    return 0


def _outcome(done: Imported, sid: str | None, joined: bool) -> dict:
    result = done.run.result()
    test = result["summary"].get("test", {})
    return {
        "run_id": done.run.id,
        "label": result["label"],
        "run_dir": str(done.run.path),
        "already_imported": done.reused,
        "sweep": sid,
        "joined_sweep": joined,
        "targets": done.counts,
        "test": {g: {m: test[g][m] for m in ("n", "ndcg@10", "hit@10", "auc")} for g in ("few", "joint") if g in test},
    }


def _text(o: dict) -> str:
    lines = [f"run      {o['run_id']}" + (" (already imported)" if o["already_imported"] else "")]
    lines.append(f"label    {o['label']}")
    if o["sweep"] is None:
        lines.append("sweep    none: the --like run is in no sweep; pass --sweep SWEEP to show it on Compare")
    else:
        how = "joined" if o["joined_sweep"] else "already listed there"
        lines.append(f"sweep    {o['sweep']} ({how}; `python -m ppr report {o['sweep']}` and Compare show it)")
    for group, kinds in o["targets"].items():
        parts = [
            f"{c['scored']} of {c['targets']} {KIND_NAMES[kind]}"
            + (" (n/a)" if c["targets"] and not c["scored"] else "")
            for kind, c in kinds.items()
        ]
        lines.append(f"scored   {group} targets: {', '.join(parts)}")
    for g, m in o["test"].items():
        figures = (
            f"NDCG@10 {m['ndcg@10']:.4f}  HIT@10 {m['hit@10']:.4f}  AUC {m['auc']:.4f}  ({m['n']} targets)"
            if m["n"]
            else "n/a (its zero-shot targets were not scored)"
        )
        lines.append(f"test     {'few-shot' if g == 'few' else g:<8} {figures}")
    return "\n".join(lines)
