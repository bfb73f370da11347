"""Renderers: the schema map (text, markdown, mermaid) and the JSON contract."""
