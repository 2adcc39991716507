"""The live check's wing of the pure core: probe evidence -> findings (findings.py), their texts
(texts.py) and the per-attempt verdicts renderers show (verdicts.py).

Kept empty on purpose: importing one module of the package must not import the others.
"""
