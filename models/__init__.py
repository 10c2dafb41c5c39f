"""Learned audio-to-lips models: data preparation, networks, training."""
