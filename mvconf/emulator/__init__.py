"""A MiniVoice-compatible API for local work, tests and demos (SPEC §7)."""
