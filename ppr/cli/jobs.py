"""`python -m ppr sweep | worker | runs | report`: experiments as durable background jobs.

    sweep NAME --methods finetune,ppr-light --k-shots 1,all --noise 0,0.3 --seeds 0,1 [--background]
    sweep NAME ... --executor ray [--ray-address ADDR]     (one Ray task per run; foreground)
    runs list [--json] | runs show ID [--json] | runs cancel ID | runs resume ID [--foreground]
    report SWEEP [--format md|csv|json] [--ranking sampled|full|both]

With --background the sweep runs in a detached worker and the sweep id is the last
line of stdout. IDs in `runs show/cancel/resume` are run ids or sweep ids.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys

from ppr.cli import help_line
from ppr.cli.options import add_settings, settings_from
from ppr.cli.train import add_run_settings, base_spec
from ppr.data.splits import fold_count
from ppr.data.store import Store
from ppr.errors import InputError
from ppr.jobs import control
from ppr.jobs import sweep as sweeps
from ppr.report import crossdomain, tables
from ppr.runs.folder import readable, run_folder
from ppr.runs.status import read_metrics, read_status, unreadable_metric_lines
from ppr.spec.run import METHODS, TuneSpec
from ppr.spec.settings import parse_list
from ppr.spec.sweep import ABLATIONS, SweepSpec


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("sweep", help=help_line("sweep"))
    s.add_argument("name", help="dataset NAME or NAME@vN")
    s.add_argument(
        "--methods", default="pop,pop-profile,finetune,ppr-light,ppr-full", help="comma list of " + ", ".join(METHODS)
    )
    s.add_argument("--k-shots", default="all", help="comma list of integers >= 1 or 'all'")
    s.add_argument("--noise", default="0", help="comma list of profile noise rates")
    s.add_argument("--seeds", default="0", help="comma list of seeds (each also seeds its warm run)")
    s.add_argument("--ablations", default="none", help="comma list of " + ", ".join(ABLATIONS) + " (PPR methods)")
    add_settings(s, TuneSpec, skip=("method", "k_shot", "noise", "fold"))
    add_run_settings(s, warm_prefix="warm-")
    s.add_argument("--device", default="auto")
    s.add_argument("--background", action="store_true", help="detach a worker and return; prints the sweep id last")
    s.add_argument(
        "--max-workers",
        type=int,
        default=None,
        help="workers computing at once (default $PPR_MAX_WORKERS or 1); with --executor ray and no --ray-address: "
        "the local Ray instance's CPUs, one run each (default every core)",
    )
    s.add_argument(
        "--executor",
        choices=("local", "ray"),
        default="local",
        help="local: this process computes the runs one after another (default); ray: one Ray task per run "
        "(`pip install -r requirements-ray.txt`)",
    )
    s.add_argument(
        "--ray-address",
        default=None,
        metavar="ADDR",
        help="with --executor ray: the Ray cluster to use (e.g. HOST:6379 or auto); its nodes must see the store "
        "home at the same path. Default: a local Ray instance",
    )
    s.set_defaults(func=run_sweep)

    w = sub.add_parser("worker", help=help_line("worker"))
    g = w.add_mutually_exclusive_group(required=True)
    g.add_argument("--sweep", default=None)
    g.add_argument("--run", default=None)
    w.add_argument("--max-workers", type=int, default=None)
    w.set_defaults(func=run_worker)

    r = sub.add_parser("runs", help=help_line("runs"))
    rs = r.add_subparsers(dest="runs_command", metavar="ACTION", required=True)
    lp = rs.add_parser("list", help="every run folder with state and progress (stale = worker gone)")
    lp.add_argument("--sweep", default=None, help="only this sweep's runs")
    lp.add_argument("--json", action="store_true")
    lp.set_defaults(func=runs_list)
    sp = rs.add_parser("show", help="one run's or sweep's status, settings and latest metrics")
    sp.add_argument("id")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=runs_show)
    cp = rs.add_parser("cancel", help="SIGTERM the worker computing a run or sweep; queued cells become cancelled")
    cp.add_argument("id")
    cp.set_defaults(func=runs_cancel)
    up = rs.add_parser("resume", help="continue a failed/stale/cancelled run or sweep from its last epoch checkpoint")
    up.add_argument("id")
    up.add_argument("--foreground", action="store_true", help="compute here instead of in a detached worker")
    up.set_defaults(func=runs_resume)

    p = sub.add_parser("report", help=help_line("report"))
    p.add_argument("sweep")
    p.add_argument("--format", choices=("md", "csv", "json"), default="md")
    p.add_argument(
        "--ranking",
        choices=("sampled", "full", "both"),
        default="both",
        help="metrics against the sampled candidates, the whole catalogue, or both (default)",
    )
    p.add_argument(
        "--by",
        default=None,
        help="who gains: break the difference to --baseline down by 'history' (clicks the model read), "
        "'attribute' (every profile attribute) or one attribute's name",
    )
    p.add_argument("--baseline", default="finetune", help="what --by compares with (default finetune; e.g. pop)")
    p.add_argument("--metric", default="ndcg@10", help="the metric of --by's markdown tables (default ndcg@10)")
    p.add_argument(
        "--profile",
        default=None,
        metavar="ATTRIBUTE",
        help="instead: predict this profile attribute from the user vectors of the sweep's noise-0 runs at k=all "
        "(the paper's Table VIII; see `python -m ppr task profile`)",
    )
    p.set_defaults(func=run_report)


def sweep_spec(args: argparse.Namespace, store: Store) -> SweepSpec:
    """The sweep the flags describe: grid axes as comma lists, every other setting shared by the cells; its cells
    are tested on every fold of the split (pooled in the report)."""
    base = base_spec(args, store, seed=0)
    return SweepSpec.grid(
        base,
        parse_list(TuneSpec, "method", args.methods),
        parse_list(TuneSpec, "k_shot", args.k_shots),
        parse_list(TuneSpec, "noise", args.noise),
        parse_list(TuneSpec, "seed", args.seeds),
        tuple(a.strip() for a in args.ablations.split(",") if a.strip()),
        settings_from(args, TuneSpec),
        fold_count(store.open(base.dataset), base.split),
    )


def run_sweep(args: argparse.Namespace, store: Store) -> int:
    from ppr.jobs.worker import main_log, work  # the training code (torch) only where runs are computed

    spec = sweep_spec(args, store)
    with _executor(args) as executor:  # Ray connected (or its absence reported) before anything is queued
        body = sweeps.submit(store, spec, args.device)
        sid, n_cells = body["id"], len(body["cells"])
        done = sum(read_status(store.runs_dir / c["run_id"])["state"] == "done" for c in body["cells"])
        print(
            f"sweep {sid}: {n_cells} cells ({done} already done), {len(body['warm_runs'])} warm runs, "
            f"{len(body['runs'])} runs in all"
        )
        folder = sweeps.sweeps_dir(store) / sid
        if args.background:
            _, pid = control.start(store, spec, args.device, args.max_workers)
            print(f"worker {pid} has it; log {folder / 'worker.log'}")
            print(sid)
            return 0
        final = work(store, body["runs"], main_log, folder, args.max_workers, executor)
    print(f"sweep {sid}: {final}")
    print(sid)
    return 0 if final == "done" else 1


def _executor(args: argparse.Namespace) -> contextlib.AbstractContextManager:
    """What computes the sweep's runs: None (this process, one after another) or Ray tasks (ppr.jobs.ray_executor,
    imported only here: ray is optional)."""
    if args.executor == "local":
        if args.ray_address:
            raise InputError("--ray-address needs --executor ray.")
        return contextlib.nullcontext()
    if args.background:
        raise InputError(
            "--executor ray runs in the foreground: this process dispatches the Ray tasks and keeps the sweep's state "
            "while they run. Drop --background (nohup or tmux detach it from the terminal)."
        )
    from ppr.jobs.ray_executor import ray_executor

    return ray_executor(args.ray_address, args.max_workers)


def run_worker(args: argparse.Namespace, store: Store) -> int:
    from ppr.jobs.worker import main_log, work

    main_log(f"worker {os.getpid()} starting ({'sweep ' + args.sweep if args.sweep else 'run ' + args.run})")
    if args.sweep:
        body = sweeps.read_sweep(store, args.sweep)
        final = work(store, body["runs"], main_log, sweeps.sweeps_dir(store) / args.sweep, args.max_workers)
    else:
        final = work(store, [control.run_dir(store, args.run).name], main_log, None, args.max_workers)
    return 0 if final in ("done", "cancelled") else 1


def runs_list(args: argparse.Namespace, store: Store) -> int:
    rows = control.run_rows(store, sweeps.read_sweep(store, args.sweep)["runs"] if args.sweep else None, _warn)
    sweep_rows = []
    for sid in sweeps.list_sweeps(store, _warn):
        try:
            b = sweeps.read_sweep(store, sid)
        except InputError as exc:  # damaged since it was listed
            _warn(f"warning: skipping sweep {sid}: {exc}")
            continue
        sweep_rows.append({k: b.get(k) for k in ("id", "dataset", "state", "progress", "counts", "pid", "stranded")})
        sweep_rows[-1]["shown_state"] = _sweep_state(b)
        sweep_rows[-1]["next"] = b["next"]
    if args.json:
        print(json.dumps({"runs": rows, "sweeps": sweep_rows}, indent=2, default=str))
        return 0
    for r in rows:
        old = f"  outdated (run semantics v{r['semantics']})" if r["outdated"] else ""
        nxt = f"  -> {r['next']}" if r["next"] else ""
        state = r["shown_state"].split(" · ")[0]
        print(
            f"{r['id']:<60} {state:<20} {100 * r['progress']:5.1f}%  epoch {r['epoch']:<4} pid {r['pid'] or '-'}"
            f"{old}{nxt}"
        )
    for s in sweep_rows:
        nxt = f"  -> {s['next']}" if s["next"] else ""
        print(f"sweep {s['id']:<54} {s['shown_state']:<20} {100 * s['progress']:5.1f}%  {s['counts']}{nxt}")
    if not rows and not sweep_rows:
        print(f"no runs under {store.runs_dir}")
    return 0


def _warn(msg: str) -> None:
    print(msg, file=sys.stderr)


def _sweep_state(body: dict) -> str:
    if body.get("stale"):
        return "failed (worker gone)"
    if body.get("stranded"):
        return f"{body['state']}, {body['stranded']} queued with no worker"
    return body["state"]


def runs_show(args: argparse.Namespace, store: Store) -> int:
    if control.is_sweep(store, args.id):
        body = sweeps.read_sweep(store, args.id)
        body["run_states"] = control.run_rows(store, body["runs"], _warn)
        body["shown_state"] = _sweep_state(body)
    else:
        run = run_folder(store.runs_dir, args.id)
        problem = run.problem()
        st = read_status(run.path)
        worker = st["state"] != "queued" or control.has_worker(store, run.id)
        try:
            info = run.info()
            shown = control.shown_state(st, info, worker)
        except (InputError, TypeError, ValueError, AttributeError, KeyError):  # spec.json damaged
            info, shown = None, st["state"]
        if problem and "damaged" not in shown:
            shown += " (damaged)"
        body = {
            **st,
            "shown_state": shown,
            "damaged": problem,
            "next": control.next_step(store, {**st, "damaged": problem}, worker),
            "spec": info,
            "metrics": read_metrics(run.path)[-5:],
            "unreadable_metric_lines": unreadable_metric_lines(run.path),
        }
    if args.json:
        print(json.dumps(body, indent=2, default=str))
        return 0
    for key, label in (
        ("id", "id"),
        ("shown_state", "state"),
        ("progress", "progress"),
        ("epoch", "epoch"),
        ("pid", "pid"),
        ("started", "started"),
        ("updated", "updated"),
        ("finished", "finished"),
        ("counts", "counts"),
        ("damaged", "damaged"),
        ("error", "error"),
        ("next", "next"),
    ):
        if body.get(key) is not None and not (key == "error" and body[key] == body.get("damaged")):
            print(f"{label:<9} {body[key]}")
    if body.get("unreadable_metric_lines"):
        print(f"note      {body['unreadable_metric_lines']} unreadable lines of metrics.jsonl skipped")
    if body.get("traceback"):
        print(body["traceback"])
    return 0


def runs_cancel(args: argparse.Namespace, store: Store) -> int:
    print(control.cancel(store, args.id))
    return 0


def runs_resume(args: argparse.Namespace, store: Store) -> int:
    from ppr.jobs.worker import main_log, work

    if args.foreground:
        ids, folder = control.requeue(store, args.id)
        final = work(store, ids, main_log, folder)
        print(f"{args.id}: {final}")
        return 0 if final == "done" else 1
    pid = control.resume(store, args.id)
    sid = None if control.is_sweep(store, args.id) else control.sweep_of(store, args.id)
    with_sweep = f" and the queued runs of its sweep {sid}" if sid else ""
    print(f"worker {pid} resumes {args.id}{with_sweep}")
    print(args.id)
    return 0


def run_report(args: argparse.Namespace, store: Store) -> int:
    sweep = sweeps.read_sweep(store, args.sweep)
    c = sweep["counts"]
    title = (
        f"Sweep {sweep['id']} ({sweep['dataset']}): {sweep['state']}, {c['done']} of {len(sweep['runs'])} runs "
        f"done, {c['failed']} failed, {c['cancelled']} cancelled, {c['queued'] + c['running']} to go"
    )
    runs = readable(sweeps.sweep_runs(store, args.sweep), _warn)  # a damaged run: named, left out
    if args.by is not None:
        return _report_cohorts(args, store, runs, title)
    if args.profile is not None:
        from ppr.report.profile_task import of_runs, render

        cell = [r for r in runs if r.spec().tune.k_shot is None and r.spec().tune.noise == 0]
        table = of_runs(store, cell, args.profile)
        sys.stdout.write(render(table, args.format, f"{title}; predicting {args.profile!r} (k=all, noise 0)"))
        return 0
    summary = {k: sweep[k] for k in ("id", "dataset", "state", "counts", "progress")}
    if crossdomain.target_domain(runs) is not None:  # the sweep tests users cold in a target domain: Table VII
        table, domain = crossdomain.crossdomain_table(runs, args.ranking)
        notes = [n for n in (crossdomain.derived_note(store, sweep["dataset"]),) if n]
        sys.stdout.write(crossdomain.render(table, args.format, title, domain, notes, summary))
        return 0
    table = tables.sweep_table(runs, tables.RANKINGS[args.ranking])
    sys.stdout.write(tables.render(table, args.format, title, summary, args.ranking))
    return 0


def _report_cohorts(args: argparse.Namespace, store: Store, runs: list, title: str) -> int:
    from ppr.report.cohorts import cohorts_of_runs, render_cohorts

    metrics = tables.RANKINGS[args.ranking]
    if args.metric not in metrics:
        raise InputError(f"--metric {args.metric!r} is not one of {', '.join(metrics)} (--ranking {args.ranking}).")
    table = cohorts_of_runs(store, runs, args.by, metrics, args.baseline, _warn)
    labels = set(table["label"])
    if labels and args.baseline not in labels:
        raise InputError(
            f"--baseline {args.baseline!r} has no finished run in this sweep; its methods: {', '.join(sorted(labels))}."
        )
    sys.stdout.write(render_cohorts(table, args.format, title, args.metric, args.baseline))
    return 0
