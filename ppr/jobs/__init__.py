"""Experiments as durable jobs: run specs, status files, sweeps, a background worker, results queries.

A run folder (<home>/runs/<id>/) gains job.json (the RunSpec), status.json,
metrics.jsonl, results.parquet, embeddings.parquet and resume.pt (epoch checkpoint)
beside the files ppr.runs already keeps. A sweep folder (<home>/sweeps/<id>/) lists
its runs. Everything is plain files written atomically, so the app, the CLI and any
number of workers read them without talking to each other.
"""
