"""Reading media: probing and hashing files, streaming frames and audio (PyAV)."""
