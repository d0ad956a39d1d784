"""Stage 5: the checked model to Python source (the evaluator and fact readers).

Imports the language model only; the runtime executes what it writes.
"""
