"""The widgets of the Hearth window. They draw; controllers and workers do the work."""
