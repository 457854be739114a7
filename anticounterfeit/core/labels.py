"""Display helpers shared by the apps' pages."""


def short_label(label: str) -> str:
    """A choice label without its parenthesised gloss, for a compact list: "Failed (will retry)" → "Failed"."""
    return label.split(" (")[0]
