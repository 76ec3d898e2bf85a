"""Screening what comes in and goes out: personal data, prompt injection, leaks."""
