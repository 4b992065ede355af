"""Render consultation results for people: the clinician's text report and its explanations."""
