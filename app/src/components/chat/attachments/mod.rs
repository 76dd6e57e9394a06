//! Attachments: the files a message carries besides its text (images, PDFs, text and code).
//!
//! - [`limits`]: what may be attached and how large, checked before anything is sent;
//! - [`list`]: the composer's chips as plain data and their pure transitions (added, progress,
//!   uploaded, failed, removed, cleared on send; whether Send may go);
//! - [`upload`]: the uploads themselves (button, drop, paste, library), with their progress;
//! - the views: [`attach_button`] ("Attach"), [`library_picker`] ("Attach from library"),
//!   [`chips`] (the list labelled "Attachments"), [`drop_zone`] (the chat as a drop target) and
//!   [`message_attachments`] (a sent message's attachments, each opening in a new tab).

pub mod attach_button;
pub mod chips;
pub mod drop_zone;
pub mod library_picker;
pub mod limits;
pub mod list;
pub mod message_attachments;
pub mod upload;

pub use attach_button::AttachButton;
pub use chips::AttachmentChips;
pub use drop_zone::ChatDropZone;
pub use library_picker::AttachFromLibrary;
pub use list::AttachmentList;
pub use message_attachments::MessageAttachments;
