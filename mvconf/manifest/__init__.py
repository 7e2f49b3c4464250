"""Manifests: YAML files that describe the desired state of DIDs."""
