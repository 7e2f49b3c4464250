"""mvconf: MiniVoice phone numbers (DIDs) as code."""

__version__ = "0.2.0"
