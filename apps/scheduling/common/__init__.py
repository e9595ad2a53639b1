"""What all schedulers of the suite share: the independent feasibility checker (``feasibility``)."""
