//! The microphone's level as plain numbers: the RMS of a block of samples, in dBFS, and the
//! fraction a level meter fills. Pure, so the voice-activity rules built on it are tested without
//! a browser.

/// The quietest level considered: digital silence and anything below reads as this.
pub const FLOOR_DB: f32 = -90.0;

/// The root mean square of `samples` (each in -1.0..=1.0); 0 for no samples.
pub fn rms(samples: &[f32]) -> f32 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f32 = samples.iter().map(|s| s * s).sum();
    (sum / samples.len() as f32).sqrt()
}

/// A linear level (RMS) in decibels relative to full scale, never below [`FLOOR_DB`].
pub fn to_db(level: f32) -> f32 {
    if level <= 0.0 { FLOOR_DB } else { (20.0 * level.log10()).max(FLOOR_DB) }
}

/// How full a level meter shows `db`: 0 at -60 dBFS (a quiet room), 1 at -10 dBFS (loud speech).
pub fn meter_fraction(db: f32) -> f32 {
    ((db + 60.0) / 50.0).clamp(0.0, 1.0)
}

/// Elapsed time as "m:ss".
pub fn elapsed(ms: u64) -> String {
    let seconds = ms / 1000;
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rms_of_a_full_scale_square_wave_is_one_and_of_silence_zero() {
        assert_eq!(rms(&[1.0, -1.0, 1.0, -1.0]), 1.0);
        assert_eq!(rms(&[0.0; 128]), 0.0);
        assert_eq!(rms(&[]), 0.0);
    }

    #[test]
    fn the_rms_of_a_sine_is_its_amplitude_over_root_two() {
        let sine: Vec<f32> =
            (0..4800).map(|i| 0.5 * (i as f32 * 0.01 * std::f32::consts::TAU).sin()).collect();
        assert!((rms(&sine) - 0.5 / 2f32.sqrt()).abs() < 1e-3);
    }

    #[test]
    fn decibels_are_relative_to_full_scale_with_a_floor_for_silence() {
        assert!((to_db(1.0)).abs() < 1e-6);
        assert!((to_db(0.1) + 20.0).abs() < 1e-4);
        assert_eq!(to_db(0.0), FLOOR_DB);
        assert_eq!(to_db(1e-9), FLOOR_DB);
    }

    #[test]
    fn the_meter_is_empty_in_a_quiet_room_and_full_for_loud_speech() {
        assert_eq!(meter_fraction(FLOOR_DB), 0.0);
        assert_eq!(meter_fraction(-60.0), 0.0);
        assert!((meter_fraction(-35.0) - 0.5).abs() < 1e-6);
        assert_eq!(meter_fraction(0.0), 1.0);
    }

    #[test]
    fn elapsed_time_reads_as_minutes_and_seconds() {
        assert_eq!(elapsed(0), "0:00");
        assert_eq!(elapsed(9_999), "0:09");
        assert_eq!(elapsed(61_000), "1:01");
    }
}
