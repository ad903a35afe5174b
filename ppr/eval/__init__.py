"""Scoring and ranking metrics over fixed candidate lists, and evaluation of a model on a split."""
