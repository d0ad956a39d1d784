"""Reports of many results for people: plain-text tables and the ranked 通报.

Shared by the CLI (``kaohe eval``'s table and JSON summary), the audit tools and,
later, the decision service.  It reads results through ``runtime`` only and never
imports the facade or a front end.

* :mod:`.table` — text tables aligned for CJK (wide characters take two columns);
* :mod:`.ranked` — the ranked 通报, the batch summary, money as people read it.
"""
