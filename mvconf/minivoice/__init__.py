"""Talking to the MiniVoice REST API."""
