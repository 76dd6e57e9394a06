//! Audio formats the engines hand over, made into what the browser plays: 16-bit PCM WAV (what
//! espeak-ng and Piper write) encoded to MP3 in process with LAME, and an MP3's duration read
//! from its frame headers.

use bytes::Bytes;
use mp3lame_encoder::{Bitrate, Builder, FlushGap, InterleavedPcm, MonoPcm, Quality};

use super::engine::{Audio, VoiceError};

/// Signed 16-bit samples, interleaved when there are two channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pcm {
    pub sample_rate: u32,
    pub channels: u16,
    pub samples: Vec<i16>,
}

impl Pcm {
    pub fn duration_ms(&self) -> u64 {
        let frames = self.samples.len() as u64 / u64::from(self.channels.max(1));
        frames * 1000 / u64::from(self.sample_rate.max(1))
    }
}

fn bad(what: &str) -> VoiceError {
    VoiceError::Unavailable(format!("the engine's WAV output is not usable: {what}"))
}

/// Reads a RIFF WAV holding 16-bit PCM. A data chunk whose size runs past the end (what a
/// program writing to a pipe, which cannot seek back, puts there) is read to the end.
pub fn parse_wav(wav: &[u8]) -> Result<Pcm, VoiceError> {
    if wav.len() < 12 || &wav[0..4] != b"RIFF" || &wav[8..12] != b"WAVE" {
        return Err(bad("no RIFF/WAVE header"));
    }
    let u16_at = |at: usize| u16::from_le_bytes([wav[at], wav[at + 1]]);
    let u32_at = |at: usize| u32::from_le_bytes([wav[at], wav[at + 1], wav[at + 2], wav[at + 3]]);
    let mut at = 12;
    let mut format: Option<(u16, u16, u32, u16)> = None;
    while at + 8 <= wav.len() {
        let id = &wav[at..at + 4];
        let size = u32_at(at + 4) as usize;
        let body = at + 8;
        if id == b"fmt " {
            if body + 16 > wav.len() {
                return Err(bad("short fmt chunk"));
            }
            format = Some((u16_at(body), u16_at(body + 2), u32_at(body + 4), u16_at(body + 14)));
        } else if id == b"data" {
            let (tag, channels, sample_rate, bits) = format.ok_or_else(|| bad("data before fmt"))?;
            if tag != 1 || bits != 16 {
                return Err(bad("not 16-bit PCM"));
            }
            if !(1..=2).contains(&channels) || sample_rate == 0 {
                return Err(bad("unsupported channel count or sample rate"));
            }
            let end = body.saturating_add(size).min(wav.len());
            let samples = wav[body..end].chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
            return Ok(Pcm { sample_rate, channels, samples });
        }
        at = body.saturating_add(size).saturating_add(size % 2);
    }
    Err(bad("no data chunk"))
}

/// Encodes PCM as constant-bitrate MP3 (64 kb/s is plenty for speech), without a VBR tag frame
/// so that every frame is audio.
pub fn encode(pcm: &Pcm) -> Result<Bytes, VoiceError> {
    let failed =
        |error: &dyn std::fmt::Display| VoiceError::Unavailable(format!("MP3 encoding failed: {error}"));
    let mut builder = Builder::new().ok_or_else(|| VoiceError::Unavailable("LAME did not start".into()))?;
    builder.set_num_channels(pcm.channels as u8).map_err(|e| failed(&e))?;
    builder.set_sample_rate(pcm.sample_rate).map_err(|e| failed(&e))?;
    builder.set_brate(Bitrate::Kbps64).map_err(|e| failed(&e))?;
    builder.set_quality(Quality::Good).map_err(|e| failed(&e))?;
    builder.set_to_write_vbr_tag(false).map_err(|e| failed(&e))?;
    let mut encoder = builder.build().map_err(|e| failed(&e))?;
    let frames = pcm.samples.len() / usize::from(pcm.channels);
    let mut out = Vec::with_capacity(mp3lame_encoder::max_required_buffer_size(frames) + 7200);
    if pcm.channels == 1 {
        encoder.encode_to_vec(MonoPcm(&pcm.samples), &mut out).map_err(|e| failed(&e))?;
    } else {
        encoder.encode_to_vec(InterleavedPcm(&pcm.samples), &mut out).map_err(|e| failed(&e))?;
    }
    out.reserve(7200);
    encoder.flush_to_vec::<FlushGap>(&mut out).map_err(|e| failed(&e))?;
    Ok(Bytes::from(out))
}

/// WAV bytes in, MP3 bytes out.
pub fn encode_wav(wav: &[u8]) -> Result<Bytes, VoiceError> {
    let pcm = parse_wav(wav)?;
    if pcm.samples.is_empty() {
        return Err(bad("no samples"));
    }
    encode(&pcm)
}

/// What a local engine hands over: its WAV encoded to MP3 on a blocking thread (LAME is CPU
/// work that must not stall the runtime).
pub async fn audio_from_wav(wav: Vec<u8>) -> Result<Audio, VoiceError> {
    let bytes = tokio::task::spawn_blocking(move || encode_wav(&wav))
        .await
        .map_err(|error| VoiceError::Unavailable(format!("encoder task: {error}")))??;
    Ok(Audio { bytes, content_type: "audio/mpeg" })
}

/// The playing time of an MP3 stream: its MPEG audio frames counted from their headers (an ID3v2
/// tag in front is skipped). `None` if the bytes hold no frame.
pub fn duration_ms(mp3: &[u8]) -> Option<u64> {
    let mut at = 0;
    if mp3.len() >= 10 && &mp3[0..3] == b"ID3" {
        let size = mp3[6..10].iter().fold(0usize, |size, &b| (size << 7) | usize::from(b & 0x7f));
        at = 10 + size;
    }
    let mut micros = 0u64;
    let mut frames = 0;
    while at + 4 <= mp3.len() {
        let Some((length, frame_micros)) = frame_header(&mp3[at..at + 4]) else {
            at += 1;
            continue;
        };
        micros += frame_micros;
        frames += 1;
        at += length;
    }
    (frames > 0).then_some(micros / 1000)
}

/// A frame's length in bytes and playing time in microseconds, if `header` starts a layer III frame.
fn frame_header(header: &[u8]) -> Option<(usize, u64)> {
    if header[0] != 0xFF || header[1] & 0xE0 != 0xE0 {
        return None;
    }
    let version = (header[1] >> 3) & 0b11; // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
    let layer = (header[1] >> 1) & 0b11; // 1: layer III
    if version == 1 || layer != 1 {
        return None;
    }
    let bitrate_index = usize::from(header[2] >> 4);
    let rate_index = usize::from((header[2] >> 2) & 0b11);
    let padding = usize::from((header[2] >> 1) & 1);
    if bitrate_index == 0 || bitrate_index == 15 || rate_index == 3 {
        return None;
    }
    const MPEG1: [u32; 15] = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
    const MPEG2: [u32; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
    let (bitrate, rate, samples) = match version {
        3 => (MPEG1[bitrate_index], [44_100, 48_000, 32_000][rate_index], 1152u32),
        2 => (MPEG2[bitrate_index], [22_050, 24_000, 16_000][rate_index], 576),
        _ => (MPEG2[bitrate_index], [11_025, 12_000, 8_000][rate_index], 576),
    };
    let length = (samples / 8 * bitrate * 1000 / rate) as usize + padding;
    Some((length.max(4), u64::from(samples) * 1_000_000 / u64::from(rate)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(sample_rate: u32, channels: u16, samples: &[i16], declared: Option<u32>) -> Vec<u8> {
        let data_len = (samples.len() * 2) as u32;
        let mut out = Vec::new();
        out.extend_from_slice(b"RIFF");
        out.extend_from_slice(&(36 + data_len).to_le_bytes());
        out.extend_from_slice(b"WAVEfmt ");
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend_from_slice(&channels.to_le_bytes());
        out.extend_from_slice(&sample_rate.to_le_bytes());
        out.extend_from_slice(&(sample_rate * u32::from(channels) * 2).to_le_bytes());
        out.extend_from_slice(&(channels * 2).to_le_bytes());
        out.extend_from_slice(&16u16.to_le_bytes());
        out.extend_from_slice(b"data");
        out.extend_from_slice(&declared.unwrap_or(data_len).to_le_bytes());
        for sample in samples {
            out.extend_from_slice(&sample.to_le_bytes());
        }
        out
    }

    fn tone(sample_rate: u32, ms: u32) -> Vec<i16> {
        (0..sample_rate * ms / 1000)
            .map(|i| ((i as f32 * 440.0 * std::f32::consts::TAU / sample_rate as f32).sin() * 8000.0) as i16)
            .collect()
    }

    #[test]
    fn a_wav_read_from_a_pipe_with_an_oversized_data_chunk_is_read_to_its_end() {
        let samples = tone(22_050, 100);
        let pcm = parse_wav(&wav(22_050, 1, &samples, Some(0x7fff_f000))).unwrap();
        assert_eq!(pcm.samples, samples);
        assert_eq!(pcm.duration_ms(), 100);
    }

    #[test]
    fn what_is_not_16_bit_pcm_wav_is_refused() {
        assert!(parse_wav(b"ID3 not a wav at all").is_err());
        let mut eight_bit = wav(8_000, 1, &[0, 0], None);
        eight_bit[34] = 8;
        assert!(parse_wav(&eight_bit).is_err());
        assert!(encode_wav(&wav(8_000, 1, &[], None)).is_err());
    }

    #[test]
    fn encoded_speech_lasts_as_long_as_the_pcm_give_or_take_the_encoder_delay() {
        for (rate, channels, ms) in [(22_050, 1, 1500), (16_000, 1, 400), (24_000, 2, 2000)] {
            let mono = tone(rate, ms);
            let samples: Vec<i16> =
                if channels == 2 { mono.iter().flat_map(|&s| [s, s]).collect() } else { mono };
            let mp3 = encode_wav(&wav(rate, channels, &samples, None)).unwrap();
            let duration = duration_ms(&mp3).unwrap();
            assert!(
                (u64::from(ms)..=u64::from(ms) + 160).contains(&duration),
                "{rate} Hz × {channels}: {ms} ms of PCM became {duration} ms of MP3"
            );
        }
    }

    #[test]
    fn bytes_without_frames_have_no_duration() {
        assert_eq!(duration_ms(b""), None);
        assert_eq!(duration_ms(&[0u8; 4096]), None);
    }
}
