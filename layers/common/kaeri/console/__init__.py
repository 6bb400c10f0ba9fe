"""The marketer console: server-rendered pages over the same domain code the CLI calls (docs/console.md)."""
