"""What all schedulers of the suite share: the independent feasibility checker (``feasibility``:
precedence with lags, release times, deadlines, resources of any capacity), instance streams from
files or random generators behind one API (``generators``) and Gantt charts (``gantt``)."""
