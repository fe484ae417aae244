"""arvae-train: datasets from the music21 corpora, the training objectives, the loop, metrics and export.

Imports flow one way: training/ uses arvae_live.core (and arvae_live.errors, arvae_live.cli_base); nothing in
arvae_live/ imports training/.
"""
