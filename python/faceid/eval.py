"""Evaluation protocols: the figures `faceid eval verify|identify` print, from Python.

    import faceid.eval
    report = faceid.eval.verify("lfw/pairs.txt", folds=10)          # LFW protocol, k-fold
    report["results"][0]["accuracy"]["mean"], report["failures"]
    report = faceid.eval.identify("identification_protocol.tsv", unknown_dir="strangers/",
                                  gallery_sizes=[1, 0])              # 0 = every photo
    report["results"][0]["rank1"], report["results"][0]["fnir_at_fpir"]

Each result is the JSON object `faceid --format json eval ...` prints, with the same names. Every
other keyword argument is an Engine() configuration key (detector, embedder, metric, align, ...).
cache: None = the default embedding cache, False = none, a path = that file.
"""
from ._faceid import _eval as _native

verify = _native.verify
identify = _native.identify

__all__ = ["verify", "identify"]
