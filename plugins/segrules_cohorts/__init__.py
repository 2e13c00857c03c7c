"""Built-in plugin: acquisition cohorts and their retention, and experiments (treatment vs control).

Documentation: docs/plugins/cohorts.md.
"""
