"""Datasets: import, storage, synthetic generation and the cold-start split."""
