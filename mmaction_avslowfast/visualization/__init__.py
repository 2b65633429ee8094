"""Visualization helpers of the AVSlowFast plugin (pictures of data and
results; nothing here is registered)."""
