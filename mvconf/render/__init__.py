"""Showing a Plan, deciding nothing: text, markdown (with its Mermaid chart), JSON by format
name (formats.py), and escaping what came from manifests or the API."""
