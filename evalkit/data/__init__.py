"""Data loading: official benchmark layouts and Hugging Face datasets, turned into Examples."""
