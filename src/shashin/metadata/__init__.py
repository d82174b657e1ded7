"""What people keep about their photos in other apps: keywords, hierarchical tags, titles,
ratings, colour labels, named regions and places (XMP and IPTC, embedded or in sidecars) and
Google Takeout's JSON. Read at every index run (kept.py, xmp.py, takeout.py, sources.py), searched
by the metadata channel, and written back as keywords other apps read (keywords.py)."""
