"""The kaohe language server (issue #14): ``kaohe lsp`` speaks the Language Server Protocol on stdio.

A front end, like the CLI: it reads policies through the language layer's symbol index
(:mod:`kaohe_rules.language.index`) and the formatter (:mod:`kaohe_rules.language.fmt`) and never
evaluates anything.  ``server.py`` wires the features, each in its own module (``diagnostics``,
``hover``, ``navigation``, ``completion``, ``symbols``, ``formatting``) over the documents the
client has open (``documents``) and the position arithmetic of the protocol (``positions``).

pygls and lsprotocol come with the ``lsp`` extra; nothing outside this package imports them, so
the rest of kaohe_rules works without them.
"""
