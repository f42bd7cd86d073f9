"""The experiment: compress every method, train M2 on each token stream, evaluate, report."""
