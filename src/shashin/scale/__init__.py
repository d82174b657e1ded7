"""Scale-out: ingest on a Ray cluster (optional extra: pip install shashin[ray])."""
