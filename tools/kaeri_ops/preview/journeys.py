"""The journey preview lives in the runtime (the console is its deployed user); the CLI imports it here."""

from kaeri.journeys.preview import PreviewLine, preview

__all__ = ["PreviewLine", "preview"]
