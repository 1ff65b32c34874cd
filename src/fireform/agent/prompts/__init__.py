"""Prompt files of the LLM proposers (read with importlib.resources; see agent/llm/prompting.py)."""
