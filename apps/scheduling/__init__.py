"""Scheduling apps: job-shop dispatching (``jobshop``) and what every scheduler shares (``common``)."""
