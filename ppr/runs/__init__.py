"""Run folders and computing a run from its description: files, status, tracking, the pipeline."""
