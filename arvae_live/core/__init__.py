"""Shared by training/ and the live side: representation, attributes, model, checkpoint format.

Imports only torch and numpy (and the standard library). Nothing here imports mido, pythonosc or music21, so the
daemon and the trainer agree on the vocabulary, the attribute definitions and the file layout without dragging
each other in.
"""
