"""The message preview lives in the runtime (the console is its deployed user); the CLI imports it here."""

from kaeri.delivery.preview import Preview, PreviewError, preview_message

__all__ = ["Preview", "PreviewError", "preview_message"]
