//! Images as the model takes them: dimensions checked from the header before anything is
//! decoded (a few bytes can declare a canvas of gigapixels), scaled down to the recommended
//! longest edge keeping the aspect ratio, re-encoded when scaled or too large (PNG stays PNG when
//! it fits, everything else becomes JPEG), and a small preview for chips and history.

use std::io::Cursor;

use bytes::Bytes;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};

use super::error::AttachmentError;
use super::limits::{AttachmentLimits, human_size};

/// JPEG quality of a re-encoded image: no visible loss at the sizes the model reads.
const JPEG_QUALITY: u8 = 85;
/// JPEG quality of a preview.
const THUMBNAIL_QUALITY: u8 = 80;
/// The most memory one decode may take: an 8000×8000 RGBA image (256 MB) and some.
const MAX_DECODE_ALLOC: u64 = 300 * 1024 * 1024;

/// An image ready to store.
#[derive(Debug, Clone)]
pub(super) struct PreparedImage {
    pub bytes: Bytes,
    pub content_type: &'static str,
    pub extension: &'static str,
    pub width: u32,
    pub height: u32,
    pub thumbnail: Thumbnail,
}

/// A preview: PNG when the image has transparency, JPEG otherwise.
#[derive(Debug, Clone)]
pub(super) struct Thumbnail {
    pub bytes: Bytes,
    pub extension: &'static str,
}

impl Thumbnail {
    pub fn content_type_of(key: &str) -> &'static str {
        if key.ends_with(".png") { "image/png" } else { "image/jpeg" }
    }
}

fn unreadable() -> AttachmentError {
    AttachmentError::Unreadable("This image could not be read: it may be damaged or truncated.".into())
}

fn reader(bytes: &[u8], format: ImageFormat) -> ImageReader<Cursor<&[u8]>> {
    ImageReader::with_format(Cursor::new(bytes), format)
}

/// The width and height an image declares, read from its header only.
pub(super) fn declared_dimensions(bytes: &[u8], format: ImageFormat) -> Result<(u32, u32), AttachmentError> {
    reader(bytes, format).into_dimensions().map_err(|error| {
        tracing::info!(%error, "attachments.image_header_unreadable");
        match error {
            image::ImageError::Limits(_) => AttachmentError::TooLarge(
                "The image is too large to read; images may be at most 8000×8000 px.".into(),
            ),
            _ => unreadable(),
        }
    })
}

/// Checks, scales, re-encodes and previews an image (CPU work: run it off the async threads).
pub(super) fn prepare_image(
    bytes: Bytes,
    format: ImageFormat,
    content_type: &'static str,
    extension: &'static str,
    limits: &AttachmentLimits,
) -> Result<PreparedImage, AttachmentError> {
    let (width, height) = declared_dimensions(&bytes, format)?;
    if width > limits.image_max_edge || height > limits.image_max_edge {
        return Err(AttachmentError::TooLarge(format!(
            "The image is {width}×{height} px; images may be at most {edge}×{edge} px.",
            edge = limits.image_max_edge
        )));
    }
    let (image, turned) = decode(&bytes, format, limits)?;
    let too_wide = image.width().max(image.height()) > limits.image_resize_edge;
    let too_heavy = bytes.len() > limits.image_max_bytes;
    // An EXIF rotation is applied when decoding: a re-encoded image keeps no EXIF, so it must be
    // upright in its pixels.
    let (image, stored, content_type, extension) = if too_wide || too_heavy || turned {
        let image = if too_wide {
            let edge = limits.image_resize_edge;
            image.resize(edge, edge, FilterType::CatmullRom)
        } else {
            image
        };
        let (stored, content_type, extension) = encode(&image, format, limits)?;
        (image, stored, content_type, extension)
    } else {
        (image, bytes, content_type, extension)
    };
    let thumbnail = thumbnail(&image, limits.thumbnail_edge)?;
    Ok(PreparedImage {
        bytes: stored,
        content_type,
        extension,
        width: image.width(),
        height: image.height(),
        thumbnail,
    })
}

/// Decodes the first frame under limits, upright, and says whether it had to be turned.
fn decode(
    bytes: &[u8],
    format: ImageFormat,
    limits: &AttachmentLimits,
) -> Result<(DynamicImage, bool), AttachmentError> {
    let mut decode_limits = Limits::default();
    decode_limits.max_image_width = Some(limits.image_max_edge);
    decode_limits.max_image_height = Some(limits.image_max_edge);
    decode_limits.max_alloc = Some(MAX_DECODE_ALLOC);
    let mut reader = reader(bytes, format);
    reader.limits(decode_limits);
    let failed = |error: image::ImageError| {
        tracing::info!(%error, "attachments.image_undecodable");
        match error {
            image::ImageError::Limits(_) => AttachmentError::TooLarge(format!(
                "The image is too large to read; images may be at most {edge}×{edge} px.",
                edge = limits.image_max_edge
            )),
            _ => unreadable(),
        }
    };
    let mut decoder = reader.into_decoder().map_err(failed)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(failed)?;
    image.apply_orientation(orientation);
    Ok((image, orientation != Orientation::NoTransforms))
}

/// The stored form of a changed image: PNG stays PNG while it fits the size limit; anything else
/// (and a PNG too large as PNG) becomes JPEG.
fn encode(
    image: &DynamicImage,
    format: ImageFormat,
    limits: &AttachmentLimits,
) -> Result<(Bytes, &'static str, &'static str), AttachmentError> {
    if format == ImageFormat::Png {
        let png = encode_png(image)?;
        if png.len() <= limits.image_max_bytes {
            return Ok((png.into(), "image/png", "png"));
        }
    }
    let jpeg = encode_jpeg(image, JPEG_QUALITY)?;
    if jpeg.len() > limits.image_max_bytes {
        return Err(AttachmentError::TooLarge(format!(
            "The image is still {} after scaling it down; images may be at most {}.",
            human_size(jpeg.len()),
            human_size(limits.image_max_bytes)
        )));
    }
    Ok((jpeg.into(), "image/jpeg", "jpg"))
}

fn encode_png(image: &DynamicImage) -> Result<Vec<u8>, AttachmentError> {
    let mut out = Vec::new();
    // 16-bit and float images are written as 8-bit: the model reads nothing finer.
    let image = if image.color().has_alpha() {
        DynamicImage::ImageRgba8(image.to_rgba8())
    } else {
        DynamicImage::ImageRgb8(image.to_rgb8())
    };
    image.write_with_encoder(PngEncoder::new(&mut out)).map_err(encode_failed)?;
    Ok(out)
}

/// JPEG has no transparency: transparent pixels are laid on white (as a page shows them), not
/// black.
fn encode_jpeg(image: &DynamicImage, quality: u8) -> Result<Vec<u8>, AttachmentError> {
    let rgb = if image.color().has_alpha() {
        let rgba = image.to_rgba8();
        let mut rgb = RgbImage::new(rgba.width(), rgba.height());
        for (target, source) in rgb.pixels_mut().zip(rgba.pixels()) {
            let alpha = u16::from(source[3]);
            for channel in 0..3 {
                let blended = (u16::from(source[channel]) * alpha + 255 * (255 - alpha)) / 255;
                target[channel] = u8::try_from(blended).unwrap_or(u8::MAX);
            }
        }
        rgb
    } else {
        image.to_rgb8()
    };
    let mut out = Vec::new();
    rgb.write_with_encoder(JpegEncoder::new_with_quality(&mut out, quality)).map_err(encode_failed)?;
    Ok(out)
}

fn encode_failed(error: image::ImageError) -> AttachmentError {
    tracing::warn!(%error, "attachments.image_encode_failed");
    unreadable()
}

/// A preview at most `edge` px on its longest side.
fn thumbnail(image: &DynamicImage, edge: u32) -> Result<Thumbnail, AttachmentError> {
    let small =
        if image.width().max(image.height()) > edge { image.thumbnail(edge, edge) } else { image.clone() };
    if small.color().has_alpha() {
        Ok(Thumbnail { bytes: encode_png(&small)?.into(), extension: "png" })
    } else {
        Ok(Thumbnail { bytes: encode_jpeg(&small, THUMBNAIL_QUALITY)?.into(), extension: "jpg" })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb, Rgba};

    /// An image with some detail (a gradient), encoded as `format`.
    pub(crate) fn image_bytes(width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
        let image = ImageBuffer::from_fn(width, height, |x, y| {
            Rgb([u8::try_from(x % 256).unwrap(), u8::try_from(y % 256).unwrap(), 128])
        });
        let mut out = Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(image).write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn prepare(bytes: Vec<u8>, format: ImageFormat) -> Result<PreparedImage, AttachmentError> {
        let (content_type, extension) = match format {
            ImageFormat::Png => ("image/png", "png"),
            ImageFormat::Jpeg => ("image/jpeg", "jpg"),
            ImageFormat::Gif => ("image/gif", "gif"),
            _ => ("image/webp", "webp"),
        };
        prepare_image(bytes.into(), format, content_type, extension, &AttachmentLimits::default())
    }

    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }

    /// A PNG whose header declares `width`×`height` with a valid checksum, and no pixels.
    fn png_declaring(width: u32, height: u32) -> Vec<u8> {
        let mut ihdr = b"IHDR".to_vec();
        ihdr.extend_from_slice(&width.to_be_bytes());
        ihdr.extend_from_slice(&height.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0d".to_vec();
        png.extend_from_slice(&ihdr);
        png.extend_from_slice(&crc32(&ihdr).to_be_bytes());
        // An empty IDAT: the header is read up to the first image data.
        png.extend_from_slice(b"\0\0\0\0IDAT");
        png.extend_from_slice(&crc32(b"IDAT").to_be_bytes());
        png.extend_from_slice(b"\0\0\0\0IEND\xAE\x42\x60\x82");
        png
    }

    #[test]
    fn a_large_image_is_scaled_to_the_recommended_edge_keeping_its_aspect() {
        let prepared = prepare(image_bytes(3000, 2000, ImageFormat::Png), ImageFormat::Png).unwrap();
        assert_eq!((prepared.width, prepared.height), (1568, 1045));
        assert_eq!(prepared.content_type, "image/png");
        let stored = image::load_from_memory(&prepared.bytes).unwrap();
        assert_eq!((stored.width(), stored.height()), (1568, 1045));
        let tall = prepare(image_bytes(1000, 4000, ImageFormat::Jpeg), ImageFormat::Jpeg).unwrap();
        assert_eq!((tall.width, tall.height), (392, 1568));
        assert_eq!(tall.content_type, "image/jpeg");
    }

    #[test]
    fn webp_and_gif_are_re_encoded_as_jpeg_when_scaled_and_small_images_stay_as_they_are() {
        let webp = prepare(image_bytes(2000, 1000, ImageFormat::WebP), ImageFormat::WebP).unwrap();
        assert_eq!(
            (webp.content_type, webp.extension, webp.width, webp.height),
            ("image/jpeg", "jpg", 1568, 784)
        );
        assert_eq!(image::guess_format(&webp.bytes).unwrap(), ImageFormat::Jpeg);
        let gif = prepare(image_bytes(1600, 100, ImageFormat::Gif), ImageFormat::Gif).unwrap();
        assert_eq!((gif.content_type, gif.width, gif.height), ("image/jpeg", 1568, 98));
        let original = image_bytes(640, 480, ImageFormat::Gif);
        let small = prepare(original.clone(), ImageFormat::Gif).unwrap();
        assert_eq!((small.content_type, small.width, small.height), ("image/gif", 640, 480));
        assert_eq!(small.bytes, original, "an image within every limit is stored as uploaded");
    }

    #[test]
    fn a_preview_is_at_most_256_px_and_png_only_with_transparency() {
        let prepared = prepare(image_bytes(1000, 500, ImageFormat::Png), ImageFormat::Png).unwrap();
        let thumbnail = image::load_from_memory(&prepared.thumbnail.bytes).unwrap();
        assert_eq!((thumbnail.width(), thumbnail.height()), (256, 128));
        assert_eq!(prepared.thumbnail.extension, "jpg");
        let clear = ImageBuffer::from_pixel(300, 300, Rgba([0u8, 0, 0, 0]));
        let mut out = Cursor::new(Vec::new());
        DynamicImage::ImageRgba8(clear).write_to(&mut out, ImageFormat::Png).unwrap();
        let transparent = prepare(out.into_inner(), ImageFormat::Png).unwrap();
        assert_eq!(transparent.thumbnail.extension, "png");
    }

    #[test]
    fn transparency_becomes_white_in_a_jpeg() {
        let clear = DynamicImage::ImageRgba8(ImageBuffer::from_pixel(4, 4, Rgba([0u8, 0, 0, 0])));
        let jpeg = image::load_from_memory(&encode_jpeg(&clear, 90).unwrap()).unwrap().to_rgb8();
        assert!(jpeg.pixels().all(|p| p.0.iter().all(|&c| c > 245)), "{:?}", jpeg.get_pixel(0, 0));
    }

    #[test]
    fn a_header_declaring_a_huge_canvas_is_refused_before_decoding() {
        let bomb = png_declaring(100_000, 100_000);
        assert_eq!(declared_dimensions(&bomb, ImageFormat::Png).unwrap(), (100_000, 100_000));
        match prepare(bomb, ImageFormat::Png) {
            Err(AttachmentError::TooLarge(sentence)) => {
                assert_eq!(sentence, "The image is 100000×100000 px; images may be at most 8000×8000 px.");
            }
            other => panic!("{other:?}"),
        }
        let just_over = png_declaring(8001, 10);
        assert!(matches!(prepare(just_over, ImageFormat::Png), Err(AttachmentError::TooLarge(_))));
    }

    #[test]
    fn a_damaged_image_is_refused_with_a_sentence() {
        let mut truncated = image_bytes(200, 200, ImageFormat::Png);
        truncated.truncate(truncated.len() / 2);
        match prepare(truncated, ImageFormat::Png) {
            Err(AttachmentError::Unreadable(sentence)) => assert!(sentence.contains("could not be read")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_image_over_five_megabytes_is_brought_under_it() {
        // Noise does not compress: 1500×1500 RGB is ~6.7 MB as PNG.
        let mut state = 0x1234_5678u32;
        let noise = ImageBuffer::from_fn(1500, 1500, |_, _| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let [a, b, c, _] = state.to_le_bytes();
            Rgb([a, b, c])
        });
        let mut out = Cursor::new(Vec::new());
        DynamicImage::ImageRgb8(noise).write_to(&mut out, ImageFormat::Png).unwrap();
        let png = out.into_inner();
        assert!(png.len() > 5 * 1024 * 1024, "{}", png.len());
        let prepared = prepare(png, ImageFormat::Png).unwrap();
        assert!(prepared.bytes.len() <= 5 * 1024 * 1024);
        assert_eq!((prepared.content_type, prepared.width, prepared.height), ("image/jpeg", 1500, 1500));
    }
}
