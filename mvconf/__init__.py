"""mvconf: MiniVoice phone numbers (DIDs) as code."""

__version__ = "0.1.0"
