"""Training: the one loop (trainer), what each method trains (methods), batches, losses, augmentation."""
