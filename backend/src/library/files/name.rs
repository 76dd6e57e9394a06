//! The names uploads are kept under: a sanitised stem, and for a binary file the extension of
//! the type its content was sniffed as.

use crate::library::documents::filename;

/// The stem and lower-case extension of the last component of an uploaded name. Anything before
/// a `/` or `\` is dropped; an extension is at most 10 ASCII letters and digits.
pub(super) fn split_name(raw: &str) -> (&str, Option<String>) {
    let base = raw.rsplit(['/', '\\']).find(|part| !part.trim().is_empty()).unwrap_or(raw);
    match base.rsplit_once('.') {
        Some((stem, extension))
            if !stem.trim_matches('.').trim().is_empty()
                && (1..=10).contains(&extension.len())
                && extension.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            (stem, Some(extension.to_ascii_lowercase()))
        }
        _ => (base, None),
    }
}

/// Extensions never kept on a file of unknown type: a browser or desktop would run or render them.
const ACTIVE_EXTENSIONS: &[&str] = &["htm", "html", "xhtml", "shtml", "svg", "svgz", "xml", "js", "mjs"];

/// The name a binary upload is stored under: the sanitised stem, with the extension of the
/// sniffed type (or, for an unknown type, the original extension unless it is active content).
pub(super) fn binary_filename(raw: &str, extension: Option<&'static str>) -> String {
    let (stem, original) = split_name(raw);
    let extension = match extension {
        Some(extension) => extension.to_owned(),
        None => {
            original.filter(|e| !ACTIVE_EXTENSIONS.contains(&e.as_str())).unwrap_or_else(|| "bin".to_owned())
        }
    };
    format!("{}.{extension}", filename::sanitize_stem(stem))
}

/// A document's title from an uploaded name: the sanitised stem.
pub(super) fn document_title(raw: &str) -> String {
    filename::sanitize_stem(split_name(raw).0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_reduced_to_a_safe_stem_and_an_extension_that_matches_the_content() {
        assert_eq!(binary_filename("notes.txt", Some("png")), "notes.png");
        assert_eq!(binary_filename("../../etc/passwd", Some("pdf")), "passwd.pdf");
        assert_eq!(binary_filename("C:\\Users\\x\\scan.PDF", Some("pdf")), "scan.pdf");
        assert_eq!(binary_filename("evil\0name.bin", None), "evil-name.bin");
        assert_eq!(binary_filename("page.html", None), "page.bin");
        assert_eq!(binary_filename("setup.EXE", None), "setup.exe");
        assert_eq!(binary_filename(".hidden", Some("png")), "hidden.png");
        assert_eq!(binary_filename("../..", Some("png")), "document.png");
        assert_eq!(binary_filename("Fotos für Oma 🚀.jpeg", Some("jpg")), "Fotos für Oma 🚀.jpg");
        let long = binary_filename(&format!("{}.png", "ü".repeat(500)), Some("png"));
        assert!(long.len() <= 120 && long.ends_with(".png") && long.starts_with('ü'), "{long}");
        assert_eq!(document_title("../../etc/passwd"), "passwd");
        assert_eq!(document_title("photo.png"), "photo");
        assert_eq!(document_title("archive.tar.gz"), "archive.tar");
    }
}
