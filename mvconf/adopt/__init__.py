"""Adopting live DIDs: `mvconf import` writes entries for them (entries.py), `import --into`
merges their drift into existing manifests (merge.py)."""
