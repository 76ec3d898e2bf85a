"""AI-wegwijzer: answers about AI for Dutch municipalities, from the VNG/TNO documents."""

__version__ = "0.1.0"
