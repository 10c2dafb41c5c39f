"""The one exception type whose message is meant for the user."""


class StudioError(Exception):
    """A problem with the user's input or request; str(error) is shown to them as it is."""
