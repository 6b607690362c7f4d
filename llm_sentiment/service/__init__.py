"""8. The HTTP service: API (``http``), job store (``store``), workers, webhooks; ``wiring`` composes it."""
