"""Audit tools built on the trace: the stable JSON trace document, "why not" counterfactuals,
what-if re-evaluation, Markdown/HTML reports and replay of stored traces.

Nothing here changes how a unit is assessed; everything here reads results and traces.
"""
