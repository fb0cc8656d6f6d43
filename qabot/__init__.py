"""qabot: answers questions about a folder of documents with verbatim, cited quotes."""

__version__ = "0.1.0"
