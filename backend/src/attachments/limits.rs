//! How large an attachment may be, from the model providers' documented limits (Anthropic's
//! vision and PDF support pages), and the sizes we bring images down to.

use std::time::Duration;

/// The limits uploads are checked against. `Default` holds the documented values; tests lower
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttachmentLimits {
    /// The largest upload of any kind, refused before it is read whole.
    pub upload_max_bytes: usize,
    /// The API refuses an image larger than 5 MB: what we store and send is at most this.
    pub image_max_bytes: usize,
    /// The API refuses an image wider or taller than 8000 px; so do we, from the header, before
    /// decoding anything (a small file can declare a huge canvas).
    pub image_max_edge: u32,
    /// Anthropic's recommended longest edge: a larger image is scaled down by the API anyway
    /// (costing time to first token), so we scale it down once, on upload.
    pub image_resize_edge: u32,
    /// The longest edge of the preview shown in chips and history.
    pub thumbnail_edge: u32,
    /// A PDF travels base64-encoded in a request of at most 32 MB; 20 MiB of PDF is 28 MB of
    /// base64, leaving room for the rest of the conversation.
    pub pdf_max_bytes: usize,
    /// The API reads at most 100 pages of PDF in one request.
    pub pdf_max_pages: u32,
    /// A text file goes to the model as text: 1 MiB is already far more than most contexts.
    pub text_max_bytes: usize,
    /// The largest file copied into the library (the library's own upload limit).
    pub library_max_bytes: usize,
    /// Attachments uploaded but never sent are deleted after this long.
    pub unsent_lifetime: Duration,
}

impl Default for AttachmentLimits {
    fn default() -> Self {
        Self {
            upload_max_bytes: 32 * 1024 * 1024,
            image_max_bytes: 5 * 1024 * 1024,
            image_max_edge: 8000,
            image_resize_edge: 1568,
            thumbnail_edge: 256,
            pdf_max_bytes: 20 * 1024 * 1024,
            pdf_max_pages: 100,
            text_max_bytes: 1024 * 1024,
            library_max_bytes: 25 * 1024 * 1024,
            unsent_lifetime: Duration::from_secs(24 * 60 * 60),
        }
    }
}

/// A size as people read it: `5 MiB`, `256 KiB`, `1500 bytes`, `1.5 MiB`.
pub fn human_size(bytes: usize) -> String {
    const MIB: usize = 1024 * 1024;
    match bytes {
        b if b >= MIB && b % MIB == 0 => format!("{} MiB", b / MIB),
        #[allow(clippy::cast_precision_loss)]
        b if b >= MIB => format!("{:.1} MiB", b as f64 / MIB as f64),
        b if b >= 1024 && b % 1024 == 0 => format!("{} KiB", b / 1024),
        b => format!("{b} bytes"),
    }
}
