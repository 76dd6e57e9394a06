//! What an upload is, from its bytes alone (the browser's declared type is not trusted): one of
//! the audio containers the engines decode (WebM/Matroska as Chromium's MediaRecorder writes,
//! Ogg, WAV, MP3, FLAC, MP4/M4A), or not audio. For WAV and MP3 the duration is read from the
//! headers, so a recording past the limit is refused before any engine sees it; for the others
//! the engine checks while it decodes (the Whisper worker does; an OpenAI-compatible server
//! is bounded by the size limit and its own limits).

use std::time::Duration;

/// A recognised audio container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    pub content_type: &'static str,
    pub extension: &'static str,
}

/// An audio upload, as far as its bytes tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probed {
    pub format: Format,
    /// Known for WAV and MP3.
    pub duration: Option<Duration>,
}

type Matcher = (fn(&[u8]) -> bool, &'static str, &'static str);

/// The containers accepted, the more specific before the more general.
const FORMATS: &[Matcher] = {
    use infer::{audio, video};
    &[
        (audio::is_wav, "audio/wav", "wav"),
        (video::is_webm, "audio/webm", "webm"),
        (video::is_mkv, "audio/webm", "webm"),
        (audio::is_ogg, "audio/ogg", "ogg"),
        (audio::is_flac, "audio/flac", "flac"),
        (audio::is_m4a, "audio/mp4", "m4a"),
        (video::is_mp4, "audio/mp4", "mp4"),
        (audio::is_mp3, "audio/mpeg", "mp3"),
        (is_mpeg_audio_frame, "audio/mpeg", "mp3"),
    ]
};

/// The container of `bytes` and, where its headers tell, its duration; `None` if it is not
/// audio we accept.
pub fn probe(bytes: &[u8]) -> Option<Probed> {
    let &(_, content_type, extension) = FORMATS.iter().find(|(matches, ..)| matches(bytes))?;
    let duration = match extension {
        "wav" => wav_duration(bytes),
        "mp3" => crate::voice::mp3::duration_ms(bytes).map(Duration::from_millis),
        _ => None,
    };
    Some(Probed { format: Format { content_type, extension }, duration })
}

/// An MPEG audio frame header: the sync bits and a valid layer (what LAME writes without an
/// ID3 tag; `infer` knows only some of them).
fn is_mpeg_audio_frame(b: &[u8]) -> bool {
    b.len() >= 2 && b[0] == 0xFF && b[1] & 0xE0 == 0xE0 && b[1] & 0x06 != 0
}

/// A RIFF WAV's playing time: its data chunk's size over the format's bytes per second. A data
/// size past the end (what a program writing to a pipe leaves) counts the bytes that are there.
fn wav_duration(wav: &[u8]) -> Option<Duration> {
    let u32_at = |at: usize| wav.get(at..at + 4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
    let mut at = 12;
    let mut byte_rate = None;
    while at + 8 <= wav.len() {
        let id = &wav[at..at + 4];
        let size = u32_at(at + 4)? as usize;
        let body = at + 8;
        if id == b"fmt " {
            byte_rate = u32_at(body + 8).filter(|rate| *rate > 0);
        } else if id == b"data" {
            let present = wav.len() - body;
            let data = if size == 0 || size > present { present } else { size };
            return Some(Duration::from_secs_f64(data as f64 / f64::from(byte_rate?)));
        }
        at = body.checked_add(size)?.checked_add(size & 1)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 16-bit mono WAV of `ms` milliseconds of silence at 16 kHz, its data size as `declared`.
    fn wav(ms: u32, declared: Option<u32>) -> Vec<u8> {
        let data = vec![0u8; (16 * ms * 2) as usize];
        let mut out = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&[1, 0, 1, 0]);
        out.extend_from_slice(&16_000u32.to_le_bytes());
        out.extend_from_slice(&32_000u32.to_le_bytes());
        out.extend_from_slice(&[2, 0, 16, 0]);
        out.extend_from_slice(b"data");
        out.extend_from_slice(&declared.unwrap_or(data.len() as u32).to_le_bytes());
        out.extend_from_slice(&data);
        out
    }

    #[test]
    fn a_wav_is_audio_with_the_duration_its_header_gives() {
        let probed = probe(&wav(1500, None)).unwrap();
        assert_eq!(probed.format, Format { content_type: "audio/wav", extension: "wav" });
        assert_eq!(probed.duration, Some(Duration::from_millis(1500)));
        // Written to a pipe: the size is unknown, and what is there counts.
        assert_eq!(probe(&wav(700, Some(u32::MAX))).unwrap().duration, Some(Duration::from_millis(700)));
    }

    #[test]
    fn webm_and_ogg_are_audio_of_unknown_duration() {
        // The EBML header of a WebM file as Chromium's MediaRecorder writes it.
        let webm = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02";
        let probed = probe(webm).unwrap();
        assert_eq!((probed.format.content_type, probed.duration), ("audio/webm", None));
        let ogg = b"OggS\0\x02\0\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0\0\0\0\0\x01\x13OpusHead";
        assert_eq!(probe(ogg).unwrap().format.extension, "ogg");
    }

    #[test]
    fn an_mp3_is_timed_by_its_frames() {
        // Silent MPEG-1 layer III frames, 128 kbit/s at 44.1 kHz: 26.1 ms each.
        let mut frame = vec![0u8; 417];
        frame[..4].copy_from_slice(&[0xFF, 0xFB, 0x90, 0xC0]);
        let probed = probe(&frame.repeat(100)).unwrap();
        assert_eq!(probed.format.content_type, "audio/mpeg");
        assert_eq!(probed.duration, Some(Duration::from_millis(2612)));
    }

    #[test]
    fn text_images_and_empty_bytes_are_not_audio() {
        assert_eq!(probe(b"hello, this is not audio"), None);
        assert_eq!(probe(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), None);
        assert_eq!(probe(b""), None);
    }
}
