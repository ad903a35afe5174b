"""Comparisons of finished runs: result tables, significance, the Prompt explorer's data, 2-D projections."""
