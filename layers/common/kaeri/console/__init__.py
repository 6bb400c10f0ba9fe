"""The marketers' console: server-rendered pages over the same domain code as the CLI."""
