//! Checkpoint storage for ember (work in progress: see the checkpoint issue).
