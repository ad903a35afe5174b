"""Model definitions: backbones (SASRec, GRU4Rec; by name in registry), prompt generator, profile encoder, the
recommender around them, and the baselines that are models of their own (popularity counts, MeLU, GCE-GNN)."""
