"""Evaluation: golden questions, retrieval and answer metrics, reports."""
