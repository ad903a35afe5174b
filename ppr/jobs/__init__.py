"""Experiments as durable jobs: sweeps, the background worker, start/cancel/resume, estimates and plans."""
