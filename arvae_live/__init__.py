"""arvae-live: steer a melody by its musical attributes with attribute-regularised VAEs (Pati & Lerch 2020).

Public API:
    arvae_live.core.representation   Note, Vocabulary, notes_to_tokens, tokens_to_notes (the 24-tick measure grid)
    arvae_live.core.attributes       ATTRIBUTES registry, compute_attributes, AttributeSpec
    arvae_live.core.notes            carried_notes, carried_note_fields: tokens -> notes with carried velocities
    arvae_live.core.key              estimate_key, melody_scale, allowed_tokens: Krumhansl-Kessler keys and their scales
    arvae_live.core.meters           the meters a MIDI file may be in, and how they map onto measures
    arvae_live.core.model            ModelConfig, MeasureVAE
    arvae_live.core.checkpoint       Checkpoint, load_checkpoint, save_checkpoint, read_header
    arvae_live.errors                ArvaeError and its subclasses
    arvae_live.engine                LiveModel (from_checkpoint, regenerate, sample, interpolate), Regeneration
    arvae_live.steering              ClosedLoop (first_guess, refine, sweep, splice), score, Candidates, DecodeCost,
                                     Budget, join_bars
    arvae_live.model_store           resolve_model, default_model_path, available_models (checkpoints/ and paths)
    arvae_live.protocol              the OSC request table (it drives dispatch), limits, error codes
    arvae_live.daemon                Daemon, ModelHost: the OSC daemon (protocol: docs/protocol.md); osc_wire (the
                                     strict OSC parser), client_state, scheduling (fair queue, pacer)
    arvae_live.client                DaemonClient: a small synchronous OSC client
    arvae_live.midi_files            read_midi, write_midi: a MIDI file's melody as measures, written back in place
    arvae_live.batch, .batch_run     regeneration of many MIDI files (the `regenerate` command): one group, the run
    arvae_live.midi_ports            MIDI port listing and opening (python-rtmidi through mido)
    arvae_live.call_response         CallResponse, CallSettings: MIDI-clock call and response with CC-mapped targets
    arvae_live.bench                 run_bench: the daemon's round-trip benchmark (the `bench` command)

Command line: `arvae-live` (serve, bench, inspect, attributes, regenerate, traverse, ports) and `arvae-train`
(prepare, train, evaluate, export).
"""

__version__ = "0.1.0"
