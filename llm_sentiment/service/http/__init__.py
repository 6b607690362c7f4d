"""The HTTP API (FastAPI): ``app`` builds it from one router per resource (``routes``)."""
