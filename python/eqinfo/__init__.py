"""eqinfo: neural tokenization with Equal-Info Windows (Python training side)."""
