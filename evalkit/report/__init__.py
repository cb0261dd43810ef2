"""The results store and the tables made from it."""
