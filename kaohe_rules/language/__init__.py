"""Stage 1-4: policy text to the checked model (parse, build, link, check).

Nothing here imports code generation, the runtime, batches or front ends.
"""
