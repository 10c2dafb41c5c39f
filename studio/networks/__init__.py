"""The studio's small networks (definitions and checkpoints); lab/ trains them, the drivers and the
renderer run them."""
