"""Talking Face Studio: one face photo + a script or speech -> a lip-synced video."""
