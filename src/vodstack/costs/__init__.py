"""Costs (issue #21): the usage ledger, storage and transcode figures, money estimates from
operator-set unit prices, rung usage and ladder recommendations, storage lifecycle.

Pure logic (``ledger``, ``report``, ``rungs``, ``prices``) is apart from I/O (``store``,
``service``, ``lifecycle``)."""
