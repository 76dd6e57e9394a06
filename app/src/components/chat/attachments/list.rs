//! The composer's attachments as plain data ([`AttachmentList`]): each picked file is a chip that
//! is uploading (with its progress), uploaded (the server's [`AttachmentView`]) or refused (with
//! the sentence why). The component layer starts and aborts the uploads and revokes the local
//! previews this hands back; whether Send may go, and what it carries, is decided here.

use jarvis_types::chat::{AttachmentKind, AttachmentView, ModelOption};

use super::limits;
use crate::components::chat::model_choice::takes;

/// Where a chip's file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Upload {
    /// Going to the server: `sent` of `total` bytes (`total` 0: not known yet).
    Uploading {
        sent: u64,
        total: u64,
    },
    Uploaded(AttachmentView),
    /// Refused, here or by the server: the sentence why. It is never sent.
    Failed(String),
}

/// One attachment in the composer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chip {
    /// Unique in the list: how uploads and views name it.
    pub key: u64,
    pub filename: String,
    pub size_bytes: u64,
    /// `None` for a file that is not attachable at all.
    pub kind: Option<AttachmentKind>,
    pub upload: Upload,
    /// A local preview of an image while it uploads (an object URL, revoked when it goes).
    pub preview: Option<String>,
}

impl Chip {
    pub fn is_uploading(&self) -> bool {
        matches!(self.upload, Upload::Uploading { .. })
    }

    /// The upload's progress in percent; `None` while the total is unknown.
    pub fn percent(&self) -> Option<u64> {
        match self.upload {
            Upload::Uploading { sent, total } if total > 0 => Some((sent.min(total) * 100) / total),
            _ => None,
        }
    }

    /// The stored attachment, once uploaded.
    pub fn uploaded(&self) -> Option<&AttachmentView> {
        match &self.upload {
            Upload::Uploaded(view) => Some(view),
            _ => None,
        }
    }

    /// Why this chip cannot go with the message: refused, or a kind the model does not take.
    pub fn problem(&self, model: Option<&ModelOption>) -> Option<String> {
        if let Upload::Failed(reason) = &self.upload {
            return Some(reason.clone());
        }
        let (model, kind) = (model?, self.kind?);
        (!takes(model, kind)).then(|| {
            format!(
                "{} cannot read {}: choose another model or remove {}.",
                model.display_name,
                limits::kind_plural(kind),
                self.filename
            )
        })
    }
}

/// What removing a chip asks of the component layer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removed {
    /// The upload to abort.
    pub abort: bool,
    /// The uploaded attachment to delete on the server (never sent, so nobody needs it).
    pub delete: Option<String>,
    /// The local preview to revoke.
    pub revoke: Option<String>,
}

/// The composer's chips, in the order picked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttachmentList {
    pub chips: Vec<Chip>,
    next_key: u64,
}

impl AttachmentList {
    pub fn is_empty(&self) -> bool {
        self.chips.is_empty()
    }

    pub fn chip(&self, key: u64) -> Option<&Chip> {
        self.chips.iter().find(|chip| chip.key == key)
    }

    fn chip_mut(&mut self, key: u64) -> Option<&mut Chip> {
        self.chips.iter_mut().find(|chip| chip.key == key)
    }

    fn key(&mut self) -> u64 {
        self.next_key += 1;
        self.next_key
    }

    /// A file was picked (button, drop, paste or library): checked here first. Answers the key to
    /// upload it under, or `None` when it was refused at once (its chip says why; nothing is
    /// sent).
    pub fn add(&mut self, filename: String, content_type: &str, size_bytes: u64) -> Option<u64> {
        let key = self.key();
        let (kind, upload) = match limits::check(&filename, content_type, size_bytes) {
            Ok(kind) => (Some(kind), Upload::Uploading { sent: 0, total: size_bytes }),
            Err(reason) => (None, Upload::Failed(reason)),
        };
        let accepted = matches!(upload, Upload::Uploading { .. });
        self.chips.push(Chip { key, filename, size_bytes, kind, upload, preview: None });
        accepted.then_some(key)
    }

    /// The local preview of an uploading image. Answers it back when the chip is already gone
    /// or uploaded (then it is revoked at once).
    pub fn previewed(&mut self, key: u64, url: String) -> Option<String> {
        match self.chip_mut(key) {
            Some(chip) if chip.is_uploading() => {
                chip.preview = Some(url);
                None
            }
            _ => Some(url),
        }
    }

    /// Upload progress of a chip (ignored once it is done or gone).
    pub fn progress(&mut self, key: u64, sent: u64, total: u64) {
        if let Some(chip) = self.chip_mut(key).filter(|chip| chip.is_uploading()) {
            chip.upload = Upload::Uploading { sent, total };
        }
    }

    /// The server stored a chip's file. Answers the preview to revoke (the server's thumbnail
    /// replaces it) and, for a chip removed meanwhile, the attachment to delete.
    pub fn uploaded(&mut self, key: u64, view: AttachmentView) -> Removed {
        match self.chip_mut(key).filter(|chip| chip.is_uploading()) {
            Some(chip) => {
                chip.kind = Some(view.kind);
                chip.size_bytes = view.size_bytes;
                chip.upload = Upload::Uploaded(view);
                Removed { revoke: chip.preview.take(), ..Removed::default() }
            }
            None => Removed { delete: Some(view.id), ..Removed::default() },
        }
    }

    /// The upload of a chip was refused or failed: the chip says why. Answers the preview to
    /// revoke.
    pub fn failed(&mut self, key: u64, reason: String) -> Option<String> {
        let chip = self.chip_mut(key).filter(|chip| chip.is_uploading())?;
        chip.upload = Upload::Failed(reason);
        chip.preview.take()
    }

    /// The user removed a chip.
    pub fn remove(&mut self, key: u64) -> Removed {
        let Some(index) = self.chips.iter().position(|chip| chip.key == key) else {
            return Removed::default();
        };
        let chip = self.chips.remove(index);
        Removed {
            abort: chip.is_uploading(),
            delete: chip.uploaded().map(|view| view.id.clone()),
            revoke: chip.preview,
        }
    }

    /// Whether an upload is still going (Send waits for it).
    pub fn uploading(&self) -> bool {
        self.chips.iter().any(Chip::is_uploading)
    }

    /// Why Send cannot go now, if it cannot: an upload still going, a refused file, or a file the
    /// chosen model cannot read.
    pub fn blocker(&self, model: Option<&ModelOption>) -> Option<String> {
        if self.uploading() {
            return Some("Wait until the attachments have uploaded.".to_owned());
        }
        self.chips.iter().find_map(|chip| chip.problem(model))
    }

    /// The uploaded attachments, in order.
    pub fn views(&self) -> Vec<AttachmentView> {
        self.chips.iter().filter_map(Chip::uploaded).cloned().collect()
    }

    /// Sent: every chip leaves the composer.
    pub fn clear(&mut self) {
        self.chips.clear();
    }

    /// A refused message's attachments come back as chips, ready to send again.
    pub fn restore(&mut self, views: Vec<AttachmentView>) {
        for view in views {
            if self.chips.iter().any(|chip| chip.uploaded().is_some_and(|v| v.id == view.id)) {
                continue;
            }
            let key = self.key();
            self.chips.push(Chip {
                key,
                filename: view.filename.clone(),
                size_bytes: view.size_bytes,
                kind: Some(view.kind),
                upload: Upload::Uploaded(view),
                preview: None,
            });
        }
    }
}

#[cfg(test)]
mod tests;
