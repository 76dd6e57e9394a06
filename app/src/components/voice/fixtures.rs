//! Clips for tests: the one way the tests of the chat and of the voice make a clip.

use jarvis_types::voice::{Clip, ClipStatus};

/// Clip `seq` of run `r`, `duration_ms` long, served at `/api/clips/c{seq}`; a failed one says
/// why.
pub fn clip(seq: u32, duration_ms: u64, status: ClipStatus) -> Clip {
    Clip {
        id: format!("c{seq}"),
        run_id: "r".into(),
        seq,
        transcript: format!("Sentence {seq}."),
        duration_ms,
        content_type: "audio/mpeg".into(),
        url: format!("/api/clips/c{seq}"),
        status,
        error: (status == ClipStatus::Failed).then(|| "The voice engine failed.".to_owned()),
    }
}
