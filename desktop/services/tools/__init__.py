"""The assistant's tools: what each does, its arguments as a pydantic model, and how a call is run."""
