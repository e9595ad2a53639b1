"""Job-shop scheduling: learned dispatching against priority rules and CP-SAT.

Modules: ``instances`` (data model, file formats, the classic set, random instances), ``simulator``
(batched exact dispatching, L2D semantics), ``schedule`` (feasibility of job-shop schedules),
``rules`` (priority dispatching rules), ``cpsat`` (OR-Tools CP-SAT, optionally warm-started).
"""
