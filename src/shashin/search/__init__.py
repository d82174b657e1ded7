"""Search: ask each channel, fuse their rankings into one, and explain each result."""
