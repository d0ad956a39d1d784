"""The runtime side: fact coercion, the compiled evaluator, results, traces, explanations.

Nothing here parses or checks policy text; it works from a checked policy and
the source the compiler generated from it.
"""
