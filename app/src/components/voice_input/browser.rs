//! The browser half of speech input (compiled for the browser only): the [`Microphone`] opened
//! with echo cancellation and noise suppression, its level read by an `AnalyserNode`; a
//! [`Recording`] made by a `MediaRecorder`; its upload as multipart `audio` to the transcription
//! endpoint; and a look at the page's spoken replies (is one playing? pause them all).

use std::cell::RefCell;
use std::rc::Rc;

use leptos::prelude::window;
use leptos::wasm_bindgen::closure::Closure;
use leptos::wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use super::level::rms;
use super::mic_error::MicError;
use super::transcription::{TRANSCRIPTIONS_URL, UNREACHABLE, file_name, read_answer};

/// The page's clock, in milliseconds.
pub fn now_ms() -> u64 {
    window().performance().map_or(0.0, |performance| performance.now()).max(0.0) as u64
}

/// The open microphone and the analyser that reads its level.
pub struct Microphone {
    stream: web_sys::MediaStream,
    context: web_sys::AudioContext,
    analyser: web_sys::AnalyserNode,
    samples: RefCell<Vec<f32>>,
}

impl Microphone {
    /// Asks for the microphone, with the browser's echo cancellation (so Jarvis's own voice is
    /// not heard as the user's), noise suppression and gain control.
    pub async fn open() -> Result<Self, MicError> {
        let window = window();
        let has_recorder = js_sys::Reflect::has(&window, &"MediaRecorder".into()).unwrap_or(false);
        let devices = window.navigator().media_devices().map_err(|_| MicError::Unsupported)?;
        if !has_recorder {
            return Err(MicError::Unsupported);
        }
        let audio = js_sys::Object::new();
        for constraint in ["echoCancellation", "noiseSuppression", "autoGainControl"] {
            let _ = js_sys::Reflect::set(&audio, &constraint.into(), &JsValue::TRUE);
        }
        let constraints = web_sys::MediaStreamConstraints::new();
        constraints.set_audio(&audio);
        let promise =
            devices.get_user_media_with_constraints(&constraints).map_err(|error| mic_error(&error))?;
        let stream: web_sys::MediaStream = JsFuture::from(promise)
            .await
            .map_err(|error| mic_error(&error))?
            .dyn_into()
            .map_err(|_| MicError::Unsupported)?;
        let analysed = (|| {
            let context = web_sys::AudioContext::new()?;
            let source = context.create_media_stream_source(&stream)?;
            let analyser = context.create_analyser()?;
            analyser.set_fft_size(2048);
            source.connect_with_audio_node(&analyser)?;
            // Made after a click or a key: it may start suspended all the same.
            let _ = context.resume();
            Ok::<_, JsValue>((context, analyser))
        })();
        match analysed {
            Ok((context, analyser)) => {
                let samples = RefCell::new(vec![0.0; analyser.fft_size() as usize]);
                Ok(Self { stream, context, analyser, samples })
            }
            Err(_) => {
                stop_tracks(&stream);
                Err(MicError::Unsupported)
            }
        }
    }

    /// The level now (RMS of the last block of samples).
    pub fn level(&self) -> f32 {
        let mut samples = self.samples.borrow_mut();
        self.analyser.get_float_time_domain_data(&mut samples);
        rms(&samples)
    }

    /// Releases the microphone (the browser's recording indicator goes off).
    pub fn close(&self) {
        stop_tracks(&self.stream);
        let _ = self.context.close();
    }
}

fn stop_tracks(stream: &web_sys::MediaStream) {
    for track in stream.get_tracks().iter() {
        if let Ok(track) = track.dyn_into::<web_sys::MediaStreamTrack>() {
            track.stop();
        }
    }
}

/// The reason a `getUserMedia` rejection names.
fn mic_error(error: &JsValue) -> MicError {
    let name = js_sys::Reflect::get(error, &"name".into()).ok().and_then(|name| name.as_string());
    MicError::from_name(name.as_deref().unwrap_or_default())
}

/// The recorder's type: Opus in WebM (Chromium, Firefox), else Opus in Ogg, else MP4 (Safari).
fn recording_type() -> Option<&'static str> {
    ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm", "audio/mp4"]
        .into_iter()
        .find(|mime| web_sys::MediaRecorder::is_type_supported(mime))
}

/// A recording in progress.
pub struct Recording {
    recorder: web_sys::MediaRecorder,
    chunks: Rc<RefCell<Vec<web_sys::Blob>>>,
    mime: String,
    started_ms: u64,
    _on_data: Closure<dyn FnMut(web_sys::BlobEvent)>,
}

/// A finished recording.
pub struct Recorded {
    pub blob: web_sys::Blob,
    pub mime: String,
    pub duration_ms: u64,
}

impl Recorded {
    pub fn bytes(&self) -> usize {
        self.blob.size() as usize
    }
}

impl Recording {
    /// Starts recording the microphone.
    pub fn start(microphone: &Microphone) -> Result<Self, MicError> {
        let recorder = match recording_type() {
            Some(mime) => {
                let options = web_sys::MediaRecorderOptions::new();
                options.set_mime_type(mime);
                web_sys::MediaRecorder::new_with_media_stream_and_media_recorder_options(
                    &microphone.stream,
                    &options,
                )
            }
            None => web_sys::MediaRecorder::new_with_media_stream(&microphone.stream),
        }
        .map_err(|_| MicError::Unsupported)?;
        let chunks = Rc::new(RefCell::new(Vec::new()));
        let kept = Rc::clone(&chunks);
        let on_data = Closure::<dyn FnMut(web_sys::BlobEvent)>::new(move |event: web_sys::BlobEvent| {
            if let Some(blob) = event.data().filter(|blob| blob.size() > 0.0) {
                kept.borrow_mut().push(blob);
            }
        });
        recorder.set_ondataavailable(Some(on_data.as_ref().unchecked_ref()));
        recorder.start().map_err(|_| MicError::Busy)?;
        let mime = recorder.mime_type();
        Ok(Self { recorder, chunks, mime, started_ms: now_ms(), _on_data: on_data })
    }

    /// Stops recording; the whole recording once the recorder has handed over its last data
    /// (`None` if the browser could not assemble it).
    pub async fn finish(self) -> Option<Recorded> {
        let duration_ms = now_ms().saturating_sub(self.started_ms);
        let (done, stopped) = futures::channel::oneshot::channel::<()>();
        let done = RefCell::new(Some(done));
        let on_stop = Closure::<dyn FnMut()>::new(move || {
            if let Some(done) = done.borrow_mut().take() {
                let _ = done.send(());
            }
        });
        self.recorder.set_onstop(Some(on_stop.as_ref().unchecked_ref()));
        // An inactive recorder (its track ended) fires no `stop`: nothing to wait for.
        let recording = self.recorder.state() != web_sys::RecordingState::Inactive;
        if recording && self.recorder.stop().is_ok() {
            let _ = stopped.await;
        }
        self.recorder.set_onstop(None);
        self.recorder.set_ondataavailable(None);
        let parts = js_sys::Array::new();
        for chunk in self.chunks.borrow().iter() {
            parts.push(chunk);
        }
        let bag = web_sys::BlobPropertyBag::new();
        bag.set_type(&self.mime);
        let blob = web_sys::Blob::new_with_blob_sequence_and_options(&parts, &bag).ok()?;
        Some(Recorded { blob, mime: self.mime, duration_ms })
    }

    /// Stops recording and drops what was recorded.
    pub fn discard(self) {
        self.recorder.set_ondataavailable(None);
        let _ = self.recorder.stop();
    }
}

/// Uploads `recorded` as the multipart field `audio`; the transcript, or the sentence to show.
pub async fn transcribe(recorded: &Recorded) -> Result<String, String> {
    let form = web_sys::FormData::new().map_err(|_| UNREACHABLE.to_owned())?;
    form.append_with_blob_and_filename("audio", &recorded.blob, file_name(&recorded.mime))
        .map_err(|_| UNREACHABLE.to_owned())?;
    let response = gloo_net::http::Request::post(TRANSCRIPTIONS_URL)
        .body(form)
        .map_err(|_| UNREACHABLE.to_owned())?
        .send()
        .await
        .map_err(|_| UNREACHABLE.to_owned())?;
    let status = response.status();
    let body = response.text().await.map_err(|_| UNREACHABLE.to_owned())?;
    read_answer(status, &body)
}

/// Every spoken reply's `<audio>` of the page.
fn reply_audios() -> Vec<web_sys::HtmlMediaElement> {
    let Ok(list) = leptos::prelude::document().query_selector_all("[data-testid=\"voice-audio\"]") else {
        return Vec::new();
    };
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|node| node.dyn_into::<web_sys::HtmlMediaElement>().ok())
        .collect()
}

/// Whether a spoken reply is playing.
pub fn reply_playing() -> bool {
    reply_audios().iter().any(|audio| !audio.paused() && !audio.ended())
}

/// Pauses every spoken reply at once (barge-in).
pub fn pause_replies() {
    for audio in reply_audios() {
        if !audio.paused() {
            let _ = audio.pause();
        }
    }
}
