"""Assistants searching the library: a Model Context Protocol server (`shashin mcp`)."""
