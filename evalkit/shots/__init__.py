"""Shot selection: which support examples each query sees as demonstrations."""
