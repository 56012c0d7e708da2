//! The DStream engine of ember (work in progress: see the DStream issue).
