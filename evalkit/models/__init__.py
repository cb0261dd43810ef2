"""Model adapters behind one small interface, loaded with `from_pretrained`."""
