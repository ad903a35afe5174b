"""Embedding views: 2-D projections of user/prompt vectors for the Prompt explorer."""
