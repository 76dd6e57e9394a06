//! A fetched PDF's text, page by page (lopdf), for `fetch_url`: parsed off the async threads and
//! with panics caught, since the bytes come from any site.

use lopdf::{Document, Object};

/// Each page's decompressed content may be this large at most (a small compressed stream must
/// not inflate without bound).
const MAX_PAGE_CONTENT_BYTES: usize = 32 * 1024 * 1024;

/// The text of a PDF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PdfText {
    /// The document information's `/Title`, when it has one.
    pub title: Option<String>,
    pub pages: usize,
    pub text: String,
}

/// Why a PDF gave no text; a sentence for the model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum PdfError {
    #[error("The PDF could not be read; it may be damaged.")]
    Unreadable,
    #[error("The PDF is protected by a password.")]
    Encrypted,
    #[error("The PDF has no text Jarvis can extract (it may be scanned images).")]
    NoText,
}

/// Extracts the text of `bytes` on a blocking thread.
pub(crate) async fn extract(bytes: Vec<u8>) -> Result<PdfText, PdfError> {
    tokio::task::spawn_blocking(move || {
        std::panic::catch_unwind(|| extract_now(&bytes)).unwrap_or(Err(PdfError::Unreadable))
    })
    .await
    .unwrap_or(Err(PdfError::Unreadable))
}

fn extract_now(bytes: &[u8]) -> Result<PdfText, PdfError> {
    let document = Document::load_mem(bytes).map_err(|error| {
        tracing::info!(%error, "web.pdf_unreadable");
        PdfError::Unreadable
    })?;
    if document.is_encrypted() {
        return Err(PdfError::Encrypted);
    }
    let numbers: Vec<u32> = document.get_pages().keys().copied().collect();
    let mut text = String::new();
    // Page by page: one page lopdf cannot decode leaves the others readable.
    for (number, chunk) in
        numbers.iter().zip(document.extract_text_chunks_with_limit(&numbers, MAX_PAGE_CONTENT_BYTES))
    {
        match chunk {
            Ok(page_text) => {
                let page_text = page_text.trim();
                if !page_text.is_empty() {
                    text.push_str(page_text);
                    text.push_str("\n\n");
                }
            }
            Err(error) => tracing::debug!(page = number, %error, "web.pdf_page_unreadable"),
        }
    }
    if text.trim().is_empty() {
        return Err(PdfError::NoText);
    }
    Ok(PdfText { title: title(&document), pages: numbers.len(), text: text.trim_end().to_owned() })
}

fn title(document: &Document) -> Option<String> {
    let info = match document.trailer.get(b"Info").ok()? {
        Object::Reference(id) => document.get_dictionary(*id).ok()?,
        Object::Dictionary(info) => info,
        _ => return None,
    };
    let raw = info.get(b"Title").ok()?;
    let title = lopdf::decode_text_string(raw).ok()?;
    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
    (!title.is_empty()).then_some(title)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bytes_that_are_not_a_pdf_are_unreadable_not_a_panic() {
        assert_eq!(extract(b"%PDF-1.7 not really".to_vec()).await, Err(PdfError::Unreadable));
        assert_eq!(extract(Vec::new()).await, Err(PdfError::Unreadable));
    }
}
