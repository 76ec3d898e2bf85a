"""The browser-facing pages: templates rendered with autoescaping, assets served locally."""
