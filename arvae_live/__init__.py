"""arvae-live: steer a melody by its musical attributes with attribute-regularised VAEs (Pati & Lerch 2020).

Public API:
    arvae_live.core.representation   Note, Vocabulary, notes_to_tokens, tokens_to_notes (the 24-tick measure grid)
    arvae_live.core.attributes       ATTRIBUTES registry, compute_attributes, AttributeSpec
    arvae_live.core.model            ModelConfig, MeasureVAE
    arvae_live.core.checkpoint       Checkpoint, load_checkpoint, save_checkpoint, read_header
    arvae_live.errors                ArvaeError and its subclasses

Command line: `arvae-live` (serve, bench, inspect, attributes, regenerate, traverse, ports) and `arvae-train`
(prepare, train, evaluate, export).
"""

__version__ = "0.1.0"
