"""People: faces grouped by who they are, and the names people give them.

`group` clusters descriptors (pure numpy); `table` reads and writes the faces table in bulk;
`detected` keeps it in step with the faces channel; `grouping` assigns new faces to people and
regroups on request; `decisions` carries out what a person decides (name, merge, not this
person, move a face, forget); `lookup` answers who is where; `regions` trades names with other
apps' face regions."""
