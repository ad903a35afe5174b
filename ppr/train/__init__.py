"""Training loops: warm-training and cold-start tuning methods."""
