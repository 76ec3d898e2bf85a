"""Running an installation: backup and restore."""
