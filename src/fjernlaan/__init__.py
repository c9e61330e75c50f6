"""fjernlaan: an interlibrary-loan hub for a national library network."""

__version__ = "0.1.0"
