"""The pure analysis core: plain inputs (texts, vectors, labels) in, plain results out.

Nothing here imports Django, HTTP or Ray.
"""
