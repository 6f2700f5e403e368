"""Training-side models of nextscale (PyTorch): the multi-scale VQVAE and the unified transformer."""
