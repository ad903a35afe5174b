"""Model definitions: SASRec backbone, prompt generator, profile encoder."""
