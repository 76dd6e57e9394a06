//! The answer of `POST /api/transcriptions`, read as plain data: `{"text": …}` on success, the
//! API's error shape (`{"error": code, "message": sentence}`) otherwise, turned into the sentence
//! the user reads. The upload itself is in `browser`.

use serde::Deserialize;

/// The endpoint that transcribes an uploaded recording.
pub const TRANSCRIPTIONS_URL: &str = "/api/transcriptions";

/// What the user reads when the server could not be reached.
pub const UNREACHABLE: &str = "The recording could not be sent. Check your connection and try again.";

#[derive(Deserialize)]
struct Transcript {
    text: String,
}

#[derive(Deserialize)]
struct ApiError {
    message: String,
}

/// The transcript, or the sentence to show, from the answer's `status` and `body`.
pub fn read_answer(status: u16, body: &str) -> Result<String, String> {
    if (200..300).contains(&status) {
        return serde_json::from_str::<Transcript>(body)
            .map(|transcript| transcript.text)
            .map_err(|_| "The transcription could not be read. Try again.".to_owned());
    }
    match serde_json::from_str::<ApiError>(body) {
        Ok(error) if !error.message.trim().is_empty() => Err(error.message),
        _ => Err(format!("The recording could not be transcribed ({status}). Try again.")),
    }
}

/// The file name sent with a recording of `mime` type.
pub fn file_name(mime: &str) -> &'static str {
    let essence = mime.split(';').next().unwrap_or_default().trim();
    match essence {
        "audio/ogg" => "speech.ogg",
        "audio/mp4" | "audio/aac" => "speech.m4a",
        "audio/wav" | "audio/x-wav" => "speech.wav",
        "audio/mpeg" => "speech.mp3",
        _ => "speech.webm",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_success_gives_the_text_and_an_error_gives_the_servers_sentence() {
        assert_eq!(
            read_answer(200, r#"{"text":"Save a note called groceries"}"#),
            Ok("Save a note called groceries".into())
        );
        assert_eq!(
            read_answer(
                413,
                r#"{"error":"too_large","message":"That recording is too long; keep it under two minutes."}"#
            ),
            Err("That recording is too long; keep it under two minutes.".into())
        );
    }

    #[test]
    fn an_answer_that_is_not_the_api_shape_still_reads_as_a_sentence() {
        assert_eq!(
            read_answer(502, "<html>Bad gateway</html>"),
            Err("The recording could not be transcribed (502). Try again.".into())
        );
        assert!(read_answer(200, "{}").is_err());
    }

    #[test]
    fn the_file_name_follows_the_recorders_type() {
        assert_eq!(file_name("audio/webm;codecs=opus"), "speech.webm");
        assert_eq!(file_name("audio/ogg; codecs=opus"), "speech.ogg");
        assert_eq!(file_name("audio/mp4"), "speech.m4a");
        assert_eq!(file_name(""), "speech.webm");
    }
}
