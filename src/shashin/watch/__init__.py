"""Keeping a library current by itself: a folder watcher (`shashin watch`, `shashin serve --watch`).

pending.py decides when changed paths are ready (a file still being written waits); mounts.py
tells network mounts, where events don't arrive, so they are polled; watcher.py runs the loop:
a catch-up index on start, then batched index runs of what changed, its state in the library
folder for `shashin status`."""
