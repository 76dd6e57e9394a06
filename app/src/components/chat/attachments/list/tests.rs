//! The composer's chips through what the user and the uploads do to them.

use super::*;
use crate::components::chat::model_choice::tests::option;

pub(crate) fn view(id: &str, kind: AttachmentKind) -> AttachmentView {
    AttachmentView {
        id: id.into(),
        filename: format!("{id}.file"),
        content_type: "application/octet-stream".into(),
        kind,
        size_bytes: 1000,
        width: None,
        height: None,
        pages: None,
    }
}

#[test]
fn a_picked_file_uploads_with_its_progress_and_send_waits_for_it() {
    let mut list = AttachmentList::default();
    let key = list.add("cat.png".into(), "image/png", 2000).expect("accepted");
    assert!(list.uploading());
    assert_eq!(list.blocker(None).as_deref(), Some("Wait until the attachments have uploaded."));
    assert_eq!(list.chip(key).and_then(Chip::percent), Some(0));
    list.progress(key, 500, 2000);
    assert_eq!(list.chip(key).and_then(Chip::percent), Some(25));
    assert_eq!(list.previewed(key, "blob:1".into()), None, "kept while uploading");
    let done = list.uploaded(key, view("a1", AttachmentKind::Image));
    assert_eq!(done.revoke.as_deref(), Some("blob:1"), "the server's thumbnail replaces the preview");
    assert!(!list.uploading());
    assert_eq!(list.blocker(None), None);
    assert_eq!(list.views().iter().map(|v| v.id.as_str()).collect::<Vec<_>>(), ["a1"]);
}

#[test]
fn a_file_refused_before_upload_gets_a_sentence_and_no_upload() {
    let mut list = AttachmentList::default();
    assert_eq!(list.add("tool.exe".into(), "application/x-msdownload", 10), None, "nothing to upload");
    assert_eq!(list.add("huge.pdf".into(), "application/pdf", 40 * 1024 * 1024), None);
    assert_eq!(list.chips.len(), 2, "each says why on its chip");
    assert!(list.chips.iter().all(|chip| matches!(chip.upload, Upload::Failed(_))));
    let blocker = list.blocker(None).expect("Send refused while a refused file is there");
    assert!(blocker.starts_with("tool.exe cannot be attached."), "{blocker}");
    assert!(list.views().is_empty());
}

#[test]
fn a_file_the_server_refuses_shows_its_sentence_and_drops_its_preview() {
    let mut list = AttachmentList::default();
    let key = list.add("scan.pdf".into(), "application/pdf", 10).expect("accepted");
    list.previewed(key, "blob:2".into());
    assert_eq!(list.failed(key, "This PDF has more than 100 pages.".into()).as_deref(), Some("blob:2"));
    assert_eq!(
        list.chip(key).and_then(|c| c.problem(None)).as_deref(),
        Some("This PDF has more than 100 pages.")
    );
    list.progress(key, 5, 10);
    assert!(!list.uploading(), "a late progress event does not bring it back");
}

#[test]
fn removing_a_chip_aborts_its_upload_or_deletes_what_was_stored() {
    let mut list = AttachmentList::default();
    let going = list.add("a.txt".into(), "text/plain", 10).expect("accepted");
    let done = list.add("b.txt".into(), "text/plain", 10).expect("accepted");
    list.uploaded(done, view("b1", AttachmentKind::Text));
    list.previewed(going, "blob:3".into());
    assert_eq!(list.remove(going), Removed { abort: true, delete: None, revoke: Some("blob:3".into()) });
    assert_eq!(list.remove(done), Removed { abort: false, delete: Some("b1".into()), revoke: None });
    assert!(list.is_empty());
    assert_eq!(list.remove(done), Removed::default(), "removing twice does nothing");
}

#[test]
fn an_upload_that_finishes_after_its_chip_was_removed_is_deleted_on_the_server() {
    let mut list = AttachmentList::default();
    let key = list.add("a.txt".into(), "text/plain", 10).expect("accepted");
    list.remove(key);
    assert_eq!(list.uploaded(key, view("late", AttachmentKind::Text)).delete.as_deref(), Some("late"));
    assert!(list.is_empty());
    assert_eq!(list.previewed(key, "blob:4".into()).as_deref(), Some("blob:4"), "revoked at once");
}

#[test]
fn a_kind_the_chosen_model_cannot_read_refuses_send_with_a_sentence_on_the_chip() {
    let mut list = AttachmentList::default();
    let image = list.add("cat.png".into(), "image/png", 10).expect("accepted");
    list.uploaded(image, view("i1", AttachmentKind::Image));
    let text = list.add("a.txt".into(), "text/plain", 10).expect("accepted");
    list.uploaded(text, view("t1", AttachmentKind::Text));
    let blind = option("local", false, false);
    assert_eq!(
        list.chip(image).and_then(|c| c.problem(Some(&blind))).as_deref(),
        Some("Model local cannot read images: choose another model or remove cat.png.")
    );
    assert_eq!(list.chip(text).and_then(|c| c.problem(Some(&blind))), None, "every model reads text");
    assert!(list.blocker(Some(&blind)).is_some());
    assert_eq!(list.blocker(Some(&option("sonnet", true, true))), None);
}

#[test]
fn a_refused_messages_attachments_come_back_once() {
    let mut list = AttachmentList::default();
    list.restore(vec![view("a1", AttachmentKind::Image), view("a2", AttachmentKind::Pdf)]);
    list.restore(vec![view("a1", AttachmentKind::Image)]);
    assert_eq!(list.views().iter().map(|v| v.id.as_str()).collect::<Vec<_>>(), ["a1", "a2"]);
    list.clear();
    assert!(list.is_empty());
}
