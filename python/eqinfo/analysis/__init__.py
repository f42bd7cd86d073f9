"""Analyses of token streams (the paper's Section 6): KL from uniform, stability."""
