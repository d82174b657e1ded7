"""People: faces grouped by who they are, and the names people give them.

group.py clusters descriptors (pure numpy); faces.py keeps the `faces` and `people` tables in
step with the faces channel, assigns new faces to people, reclusters, and carries out what a
person decides (name, merge, rename, not this person, forget)."""
