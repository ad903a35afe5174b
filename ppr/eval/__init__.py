"""Evaluation: ranking metrics over fixed candidate lists."""
