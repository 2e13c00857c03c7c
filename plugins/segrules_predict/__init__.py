"""Built-in plugin: predictive scores and behavioural clusters, trained with scikit-learn and scored
inside the database (issue 15).

Scoring needs no scikit-learn: a fitted pipeline is exported to a versioned JSON description
(``portable.export``) and compiled to one Ibis expression (``scoring.to_ibis``). Only training
(``pipeline.build_pipeline``, ``parity.check_parity``) needs the ``predict`` extra.
"""
