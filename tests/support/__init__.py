"""Shared test material: synthetic submissions, the adversarial corpus, grading fixtures."""
