"""Serving a plain ASGI app (serve.py: uvicorn settings and limits; asgi.py: reading bodies,
answering JSON), for the emulator and the events receiver."""
