"""mvconf.toml: finding it (project.py), its format (file.py), and the manifest Scope of an
environment (scope.py)."""
